import type { z } from 'zod';
import { Failure } from '../../src/failures.js';
import type { Generation } from '../../src/generated/prisma/client.js';
import type { GenerationOutputData } from '../../src/modules/generations/generation-output.js';
import { isOutputData } from '../../src/modules/generations/generation-output.js';
import { storageKeys } from '../../src/storage/index.js';
import type { WorkerDeps } from '../deps.js';
import { decodeWav, encodeMp3, encodeWav } from '../engine/encode.js';
import { SAMPLE_RATE, type Stereo } from '../engine/dsp.js';
import { master } from '../engine/master.js';
import type { Report } from './types.js';
import { uploadFormat } from '../../src/modules/uploads/upload.rules.js';
import { decodeUpload, UploadRefused } from '../uploads/decode.js';

/** Validates a stored input with the same rules the API used; a bad one is not retried. */
export function parseStored<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  // The rule's own words (field and message) are safe to show; they say what to change.
  throw new Failure('INVALID_INPUT', `${issue?.path.join('.') || 'input'}: ${issue?.message ?? 'invalid'}`, { final: true });
}

/** The mastered WAV file of a finished generation. */
export async function loadSourceWav(deps: WorkerDeps, generationId: string): Promise<Buffer> {
  const source = await deps.prisma.generation.findUnique({ where: { id: generationId } });
  if (source?.status !== 'COMPLETED' || !isOutputData(source.output)) {
    throw new Failure('INVALID_INPUT', 'a source generation is not a finished one', { final: true });
  }
  return deps.storage.get(source.output.files.wav);
}

/** A finished generation's mastered audio, decoded. */
export async function loadSourceAudio(deps: WorkerDeps, generationId: string): Promise<Stereo> {
  return decodeWav(await loadSourceWav(deps, generationId)).audio;
}

/**
 * A READY upload's audio, decoded with the same decoders that verified it and resampled to 44.1 kHz
 * stereo. (It was READY when the mix or master was asked for; if it is gone since, the job fails.)
 */
export async function loadUploadAudio(deps: WorkerDeps, uploadId: string): Promise<Stereo> {
  const upload = await deps.prisma.upload.findUnique({ where: { id: uploadId } });
  const format = upload ? uploadFormat(upload.contentType) : undefined;
  if (upload?.status !== 'READY' || !format)
    throw new Failure('INVALID_INPUT', 'a source upload is not a READY one', { final: true });
  const bytes = await deps.storage.get(upload.key);
  try {
    return (await decodeUpload(bytes, format, deps.config.UPLOAD_MAX_DURATION_SEC)).audio;
  } catch (err) {
    if (err instanceof UploadRefused) throw new Failure('INVALID_INPUT', `a source upload: ${err.message}`, { final: true });
    throw err;
  }
}

/** The audio of one source: a finished generation or a READY upload (the stored input names exactly one). */
export function loadSource(deps: WorkerDeps, source: { generationId?: string; uploadId?: string }): Promise<Stereo> {
  return source.uploadId ? loadUploadAudio(deps, source.uploadId) : loadSourceAudio(deps, source.generationId as string);
}

/** Encodes the mastered mix as MP3 + WAV and stores both; returns their keys. */
export async function storeMix(deps: WorkerDeps, generation: Generation, mix: Stereo): Promise<{ mp3: string; wav: string }> {
  const mp3 = storageKeys.beatMp3(generation.userId, generation.id);
  const wav = storageKeys.beatWav(generation.userId, generation.id);
  const [mp3Bytes, wavBytes] = [await encodeMp3(mix), encodeWav(mix)];
  await Promise.all([deps.storage.put(mp3, mp3Bytes, 'audio/mpeg'), deps.storage.put(wav, wavBytes, 'audio/wav')]);
  return { mp3, wav };
}

/** Masters `mix` to the target, stores MP3 + WAV, and describes the result (MASTER and MIX). */
export async function masterAndStore(
  deps: WorkerDeps,
  generation: Generation,
  mix: Stereo,
  targetLufs: number,
  report: Report,
): Promise<GenerationOutputData> {
  await report('mastering', 60);
  const mastered = master(mix, targetLufs);
  await report('encoding', 85);
  const files = await storeMix(deps, generation, mastered.out);
  return {
    format: 'mp3',
    files: { ...files, midi: null, stems: [] },
    durationSec: mastered.out.left.length / SAMPLE_RATE,
    loudnessLufs: mastered.loudnessLufs,
    truePeakDb: mastered.truePeakDb,
    targetLufs,
  };
}
