import { Failure } from '../../src/failures.js';
import { parseKey } from '../../src/music/keys.js';
import { storedBeatInput } from '../../src/modules/generations/generation.rules.js';
import { storageKeys } from '../../src/storage/index.js';
import { encodeMidi } from '../engine/encode.js';
import { type Stage, renderBeat } from '../engine/index.js';
import { parseStored, storeMix } from './shared.js';
import type { Handler } from './types.js';

/** 0–25 % drums, 25–50 % bass, 50–75 % melody, 75–100 % mixing and mastering (then encoding and upload). */
const PERCENT: Record<Stage, number> = { composing: 2, drums: 5, bass: 25, melody: 50, mixing: 75, mastering: 82 };

export const beatHandler: Handler = async (generation, report, deps) => {
  const input = parseStored(storedBeatInput, generation.input);
  const key = parseKey(input.key);
  if (!key) throw new Failure('INVALID_INPUT', 'key: not a key we know', { final: true });
  const track = await renderBeat({ ...input, key }, (stage) => report(stage, PERCENT[stage]));
  await report('encoding', 90);
  const midiKey = storageKeys.beatMidi(generation.userId, generation.id);
  const files = await storeMix(deps, generation, track.mix);
  await deps.storage.put(midiKey, encodeMidi(track.arrangement), 'audio/midi');
  await report('uploading', 97);
  return {
    format: 'mp3',
    files: { ...files, midi: midiKey, stems: [] },
    durationSec: track.durationSec,
    loudnessLufs: track.mastering.loudnessLufs,
    truePeakDb: track.mastering.truePeakDb,
    targetLufs: input.targetLufs,
    arrangement: {
      bars: track.arrangement.bars,
      sections: track.arrangement.sections.map((s) => ({ name: s.name, bars: s.bars })),
      progression: track.arrangement.progression,
    },
  };
};
