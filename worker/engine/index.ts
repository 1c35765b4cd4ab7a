/**
 * The audio engine: compose → render stems → mix → master → encode.
 * Pure functions of their input (same input and seed, same bytes).
 */
import type { Arrangement, PartName } from './arrangement.js';
import { type ComposeInput, compose } from './composer.js';
import type { Stereo } from './dsp.js';
import { SAMPLE_RATE } from './dsp.js';
import { type MasterResult, applyGain, master } from './master.js';
import { type PartsElsewhere, renderMix, renderPart } from './render.js';

export { compose, type ComposeInput } from './composer.js';
export type { Arrangement, PartName } from './arrangement.js';
export { PARTS } from './arrangement.js';
export { SAMPLE_RATE } from './dsp.js';
export { SilentRenderError } from './master.js';
export type { PartsElsewhere } from './render.js';

export interface RenderedTrack {
  arrangement: Arrangement;
  /** Mastered mix. */
  mix: Stereo;
  /**
   * One mastered stem (the stems sum to `mix`): the part rendered again, which gives the same
   * samples, times the master's gain curve. Rendered on demand so that a job holds one stem at a time.
   */
  stem(part: PartName): Stereo;
  mastering: Omit<MasterResult, 'out' | 'gain'>;
  /** The master's gain curve, one value a frame: the mix is the sum of the unmastered parts times it. */
  gain: Float32Array;
  durationSec: number;
}

export type Stage = 'composing' | 'drums' | 'bass' | 'melody' | 'mixing' | 'mastering';

/** The stage that starts once a part is rendered. */
const NEXT: Partial<Record<PartName, Stage>> = { drums: 'bass', bass: 'melody', lead: 'mixing' };

/**
 * Renders a beat, reporting stages as it goes (`onStage` may throw to stop,
 * e.g. when the job was cancelled). Memory: the mix, one part and its send at
 * a time while rendering, then the mix and four mono buffers while mastering.
 * A part in `elsewhere` comes from another thread (renderMix); the parts after
 * it are held until it does.
 */
export async function renderBeat(
  input: ComposeInput & { targetLufs?: number },
  onStage: (stage: Stage) => Promise<void> | void = () => {},
  elsewhere: PartsElsewhere = {},
): Promise<RenderedTrack> {
  await onStage('composing');
  const arrangement = compose(input);
  await onStage('drums');
  const mix = await renderMix(
    arrangement,
    async (part) => {
      const stage = NEXT[part];
      if (stage) await onStage(stage);
    },
    elsewhere,
  );
  await onStage('mastering');
  // A beat loops (render.ts): its master's gain runs on from the end into the start.
  const { out, gain, loudnessLufs, truePeakDb, converged } = master(mix, input.targetLufs ?? -14, {
    loop: true,
    beatSec: 60 / arrangement.bpm,
  });
  return {
    arrangement,
    mix: out,
    stem: (part) => {
      const s = renderPart(arrangement, part);
      return applyGain(s, gain, s);
    },
    mastering: { loudnessLufs, truePeakDb, converged },
    gain,
    durationSec: out.left.length / SAMPLE_RATE,
  };
}
