import { storedMixInput } from '../../src/modules/generations/generation.rules.js';
import { dbToGain, stereo } from '../engine/dsp.js';
import { addInto } from '../engine/render.js';
import { loadSourceAudio, masterAndStore, parseStored } from './shared.js';
import type { Handler } from './types.js';

/** Mixes a project's tracks (snapshot taken when the mix was requested) with gain, pan and mute, then masters. */
export const mixHandler: Handler = async (generation, report, deps) => {
  const input = parseStored(storedMixInput, generation.input);
  const audible = input.tracks.filter((t) => !t.muted);
  const sources = [];
  for (const [i, t] of audible.entries()) {
    await report(`loading track ${i + 1}`, 5 + Math.round((40 * i) / audible.length));
    sources.push({ track: t, audio: (await loadSourceAudio(deps, t.generationId)).audio });
  }
  await report('mixing', 50);
  const mix = stereo(Math.max(...sources.map((s) => s.audio.left.length)));
  for (const { track, audio } of sources) addInto(mix, audio, dbToGain(track.gainDb), track.pan);
  return masterAndStore(deps, generation, mix, input.targetLufs, report);
};
