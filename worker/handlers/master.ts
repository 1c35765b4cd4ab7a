import { storedMasterInput } from '../../src/modules/generations/generation.rules.js';
import { master } from '../engine/master.js';
import { loadSourceAudio, parseStored, storeMix } from './shared.js';
import type { Handler } from './types.js';

/** Re-masters a finished generation's WAV to a new loudness target. */
export const masterHandler: Handler = async (generation, report, deps) => {
  const input = parseStored(storedMasterInput, generation.input);
  await report('loading', 10);
  const { audio } = await loadSourceAudio(deps, input.sourceGenerationId);
  await report('mastering', 40);
  const mastered = master(audio, input.targetLufs);
  await report('encoding', 80);
  const files = await storeMix(deps, generation, mastered.out);
  return {
    format: 'mp3',
    files: { ...files, midi: null, stems: [] },
    durationSec: mastered.out.left.length / 44_100,
    loudnessLufs: mastered.loudnessLufs,
    truePeakDb: mastered.truePeakDb,
    targetLufs: input.targetLufs,
  };
};
