/**
 * The engine's work as tasks from plain data to files: what an engine thread runs
 * (worker/engine-pool/). Each is a pure function of its input (same input and seed, same bytes) and
 * touches no database, queue or storage: the job on the main thread does that.
 */
import type { ComposeInput } from './composer.js';
import { SAMPLE_RATE, type Stereo } from './dsp.js';
import { encodeMidi, encodeMp3, encodeWav, type Mp3TailElsewhere } from './encode.js';
import { compose, PARTS, type PartName, type PartsElsewhere, type Stage, renderBeat } from './index.js';
import { master } from './master.js';
import { renderPart } from './render.js';

export interface MasteredFiles {
  mp3: Uint8Array;
  wav: Uint8Array;
  durationSec: number;
  loudnessLufs: number;
  truePeakDb: number;
}

export interface BeatFiles extends MasteredFiles {
  midi: Uint8Array;
  arrangement: { bars: number; sections: { name: string; bars: number }[]; progression: number[]; borrowedBars: number[] };
}

export type BeatInput = ComposeInput & { targetLufs?: number };

/** The render's stages, then encoding. */
export type TaskStage = Stage | 'encoding';

/**
 * A mastered mix as MP3 (VBR, LAME V2; its tail encoded on another thread if `tail` finds one) and
 * 16-bit WAV, with `more` (more files): the WAV and `more` while the tail is encoded elsewhere.
 */
async function encodeMaster<T>(
  mix: Stereo,
  tail: Mp3TailElsewhere | undefined,
  more: () => T,
): Promise<{ mp3: Uint8Array; wav: Uint8Array; more: T }> {
  const { mp3, also } = await encodeMp3(mix, tail, () => ({ wav: encodeWav(mix), more: more() }));
  return { mp3, ...also };
}

/** A BEAT: composed, rendered, mastered and encoded to MP3, WAV and MIDI. */
export async function beatFiles(
  input: BeatInput,
  onStage: (stage: TaskStage) => void,
  elsewhere: PartsElsewhere = {},
  tail?: Mp3TailElsewhere,
): Promise<BeatFiles> {
  const track = await renderBeat(input, onStage, elsewhere);
  onStage('encoding');
  const { mp3, wav, more: midi } = await encodeMaster(track.mix, tail, () => encodeMidi(track.arrangement));
  return {
    mp3,
    wav,
    midi,
    durationSec: track.durationSec,
    loudnessLufs: track.mastering.loudnessLufs,
    truePeakDb: track.mastering.truePeakDb,
    arrangement: {
      bars: track.arrangement.bars,
      sections: track.arrangement.sections.map((s) => ({ name: s.name, bars: s.bars })),
      progression: track.arrangement.progression,
      borrowedBars: track.arrangement.harmony.flatMap((c, bar) => (c.borrowed ? [bar] : [])),
    },
  };
}

/** One part of a beat, unmastered: what another thread's beatFiles takes from `elsewhere`. */
export function partOfBeat(input: BeatInput, part: PartName): Stereo {
  return renderPart(compose(input), part);
}

/**
 * A beat's stems, each a 24-bit WAV mastered with the mix's own gain curve (so they sum to the mix),
 * handed to `onStem` one at a time: the next is rendered once it has been taken.
 */
export async function stemFiles(
  input: BeatInput,
  onStage: (stage: TaskStage) => void,
  onStem: (part: PartName, wav: Uint8Array) => Promise<void>,
): Promise<void> {
  const { stem } = await renderBeat(input, onStage);
  for (const part of PARTS) await onStem(part, encodeWav(stem(part), 24));
}

/** `mix` mastered to `targetLufs` (in place) and encoded. */
export async function masterFiles(mix: Stereo, targetLufs: number, tail?: Mp3TailElsewhere): Promise<MasteredFiles> {
  const mastered = master(mix, targetLufs);
  const { mp3, wav } = await encodeMaster(mastered.out, tail, () => null);
  return {
    mp3,
    wav,
    durationSec: mastered.out.left.length / SAMPLE_RATE,
    loudnessLufs: mastered.loudnessLufs,
    truePeakDb: mastered.truePeakDb,
  };
}
