import { isOutputData } from '../../src/modules/generations/generation-output.js';
import { storedMixInput } from '../../src/modules/generations/generation.rules.js';
import { dbToGain, SAMPLE_RATE, stereo } from '../engine/dsp.js';
import { addWavInto, wavLayout } from '../engine/encode.js';
import { addInto } from '../engine/render.js';
import { loadSourceWav, loadUploadAudio, masterAndStore, parseStored } from './shared.js';
import type { Handler } from './types.js';

/**
 * Mixes a project's tracks (snapshot taken when the mix was requested), generated and uploaded, with
 * gain, pan and mute, then masters. Memory: the mix and one source at a time, whatever the number of
 * tracks (at most MIX_MAX_TRACKS, checked by mixProject).
 */
export const mixHandler: Handler = async (generation, report, deps) => {
  const input = parseStored(storedMixInput, generation.input);
  const audible = input.tracks.filter((t) => !t.muted);
  // Sized from the sources' stored durations up front, so the mix is allocated once.
  const generationIds = audible.flatMap((t) => t.generationId ?? []);
  const uploadIds = audible.flatMap((t) => t.uploadId ?? []);
  const [generations, uploads] = await Promise.all([
    deps.prisma.generation.findMany({ where: { id: { in: generationIds } } }),
    deps.prisma.upload.findMany({ where: { id: { in: uploadIds } }, select: { durationSec: true } }),
  ]);
  const frames = [
    ...generations.map((r) => (isOutputData(r.output) ? Math.round(r.output.durationSec * SAMPLE_RATE) : 0)),
    ...uploads.map((u) => Math.round((u.durationSec ?? 0) * SAMPLE_RATE)),
  ];
  let mix = stereo(Math.max(0, ...frames));
  for (const [i, t] of audible.entries()) {
    await report(`loading track ${i + 1}`, 5 + Math.round((40 * i) / audible.length));
    if (t.uploadId) {
      // An upload is decoded and resampled to 44.1 kHz stereo first.
      const audio = await loadUploadAudio(deps, t.uploadId);
      if (audio.left.length > mix.left.length) mix = longer(mix, audio.left.length);
      addInto(mix, audio, dbToGain(t.gainDb), t.pan);
      continue;
    }
    const wav = await loadSourceWav(deps, t.generationId as string);
    const length = wavLayout(wav).frames;
    if (length > mix.left.length) mix = longer(mix, length);
    addWavInto(mix, wav, dbToGain(t.gainDb), t.pan);
  }
  await report('mixing', 50);
  return masterAndStore(deps, generation, mix, input.targetLufs, report);
};

/** `s` extended with silence to `frames` (sources may differ in length; the mix is the longest). */
function longer(s: ReturnType<typeof stereo>, frames: number) {
  if (!s.left.length) return stereo(frames);
  const out = stereo(frames);
  out.left.set(s.left);
  out.right.set(s.right);
  return out;
}
