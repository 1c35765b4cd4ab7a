import type { z } from 'zod';
import { Failure } from '../../src/failures.js';
import type { Generation } from '../../src/generated/prisma/client.js';
import type { GenerationOutputData } from '../../src/modules/generations/generation-output.js';
import { isOutputData } from '../../src/modules/generations/generation-output.js';
import { storageKeys } from '../../src/storage/index.js';
import type { WorkerDeps } from '../deps.js';
import { decodeWav } from '../engine/encode.js';
import type { Stereo } from '../engine/dsp.js';
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

/** Bytes from an engine thread (a plain Uint8Array after the crossing) as a Buffer, without a copy. */
export const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Stores a mastered mix's MP3 and WAV (encoded on an engine thread); returns their keys. */
export async function storeFiles(
  deps: WorkerDeps,
  generation: Generation,
  files: { mp3: Uint8Array; wav: Uint8Array },
): Promise<{ mp3: string; wav: string }> {
  const mp3 = storageKeys.beatMp3(generation.userId, generation.id);
  const wav = storageKeys.beatWav(generation.userId, generation.id);
  await Promise.all([
    deps.storage.put(mp3, asBuffer(files.mp3), 'audio/mpeg'),
    deps.storage.put(wav, asBuffer(files.wav), 'audio/wav'),
  ]);
  return { mp3, wav };
}

/** Masters `mix` to the target on an engine thread (`mix` moves there), stores MP3 + WAV, and describes the result (MASTER and MIX). */
export async function masterAndStore(
  deps: WorkerDeps,
  generation: Generation,
  mix: Stereo,
  targetLufs: number,
  report: Report,
): Promise<GenerationOutputData> {
  await report('mastering', 60);
  const mastered = await deps.engine.master(mix, targetLufs);
  await report('uploading', 90);
  const files = await storeFiles(deps, generation, mastered);
  return {
    format: 'mp3',
    files: { ...files, midi: null, stems: [] },
    durationSec: mastered.durationSec,
    loudnessLufs: mastered.loudnessLufs,
    truePeakDb: mastered.truePeakDb,
    targetLufs,
  };
}
