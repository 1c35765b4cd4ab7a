import { storedMasterInput } from '../../src/modules/generations/generation.rules.js';
import { loadSource, masterAndStore, parseStored } from './shared.js';
import type { Handler } from './types.js';

/** Re-masters a finished generation's WAV, or a READY upload, to a new loudness target. */
export const masterHandler: Handler = async (generation, report, deps) => {
  const input = parseStored(storedMasterInput, generation.input);
  await report('loading', 10);
  const audio = await loadSource(deps, { generationId: input.sourceGenerationId, uploadId: input.sourceUploadId });
  return masterAndStore(deps, generation, audio, input.targetLufs, report);
};
