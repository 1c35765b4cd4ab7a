/**
 * The audio engine: compose → render stems → mix → master → encode.
 * Pure functions of their input (same input and seed, same bytes).
 */
import type { Arrangement, PartName } from './arrangement.js';
import { PARTS } from './arrangement.js';
import { type ComposeInput, compose } from './composer.js';
import type { Stereo } from './dsp.js';
import { SAMPLE_RATE } from './dsp.js';
import { type MasterResult, applyGain, master } from './master.js';
import { mixStems, renderStems } from './render.js';

export { compose, type ComposeInput } from './composer.js';
export type { Arrangement, PartName } from './arrangement.js';
export { PARTS } from './arrangement.js';
export { SAMPLE_RATE } from './dsp.js';
export { SilentRenderError } from './master.js';

export interface RenderedTrack {
  arrangement: Arrangement;
  /** Mastered mix. */
  mix: Stereo;
  /** Mastered stems (they sum to `mix`); computed on first use. */
  stems(): Record<PartName, Stereo>;
  mastering: Omit<MasterResult, 'out' | 'gain'>;
  durationSec: number;
}

export type Stage = 'composing' | 'drums' | 'bass' | 'melody' | 'mixing' | 'mastering';

/**
 * Renders a beat, reporting stages as it goes (`onStage` may throw to stop,
 * e.g. when the job was cancelled).
 */
export async function renderBeat(
  input: ComposeInput & { targetLufs?: number },
  onStage: (stage: Stage) => Promise<void> | void = () => {},
): Promise<RenderedTrack> {
  await onStage('composing');
  const arrangement = compose(input);
  await onStage('drums');
  const next: Record<string, Stage> = { drums: 'bass', bass: 'melody', lead: 'mixing' };
  const stems = await renderStems(arrangement, (part) => onStage(next[part] as Stage));
  const mix = mixStems(stems);
  await onStage('mastering');
  const mastered = master(mix, input.targetLufs ?? -14);
  let masteredStems: Record<PartName, Stereo> | null = null;
  return {
    arrangement,
    mix: mastered.out,
    stems: () => {
      masteredStems ??= Object.fromEntries(PARTS.map((p) => [p, applyGain(stems[p], mastered.gain)])) as Record<PartName, Stereo>;
      return masteredStems;
    },
    mastering: { loudnessLufs: mastered.loudnessLufs, truePeakDb: mastered.truePeakDb },
    durationSec: mastered.out.left.length / SAMPLE_RATE,
  };
}
