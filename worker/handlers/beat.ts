import { Failure } from '../../src/failures.js';
import { parseKey } from '../../src/music/keys.js';
import { storedBeatInput } from '../../src/modules/generations/generation.rules.js';
import { storageKeys } from '../../src/storage/index.js';
import type { TaskStage } from '../engine/tasks.js';
import { asBuffer, parseStored, storeFiles } from './shared.js';
import type { Handler } from './types.js';

/** 0–25 % drums, 25–50 % bass, 50–75 % melody, 75–100 % mixing and mastering, then encoding and upload. */
const PERCENT: Record<TaskStage, number> = {
  composing: 2,
  drums: 5,
  bass: 25,
  melody: 50,
  mixing: 75,
  mastering: 82,
  encoding: 90,
};

export const beatHandler: Handler = async (generation, report, deps) => {
  const input = parseStored(storedBeatInput, generation.input);
  const key = parseKey(input.key);
  if (!key) throw new Failure('INVALID_INPUT', 'key: not a key we know', { final: true });
  // Rendered and encoded on an engine thread (worker/engine-pool/); stored from here.
  const beat = await deps.engine.beat({ ...input, key }, (stage) => report(stage, PERCENT[stage]));
  await report('uploading', 97);
  const midi = storageKeys.beatMidi(generation.userId, generation.id);
  const [files] = await Promise.all([
    storeFiles(deps, generation, beat),
    deps.storage.put(midi, asBuffer(beat.midi), 'audio/midi'),
  ]);
  return {
    format: 'mp3',
    files: { ...files, midi, stems: [] },
    durationSec: beat.durationSec, // as rendered: whole bars, at least what was asked for
    loudnessLufs: beat.loudnessLufs,
    truePeakDb: beat.truePeakDb,
    targetLufs: input.targetLufs,
    arrangement: beat.arrangement,
  };
};
