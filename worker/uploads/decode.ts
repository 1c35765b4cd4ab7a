/**
 * Decodes an uploaded file with well-kept decoders (WAV: @audio/decode-wav; MP3: mpg123 in wasm;
 * FLAC and Ogg Vorbis: wasm-audio-decoders), chunk by chunk, into 44.1 kHz stereo (libsamplerate in
 * wasm). What the file claims is never trusted: the bytes must be the declared format, and decoding
 * stops as soon as the audio passes the longest allowed, so a small file that would expand into
 * hours (or a header that lies) costs no more than the limit. A refusal is an UploadRefused whose
 * message a user can act on.
 */
import { decoder as wavDecoder } from '@audio/decode-wav';
import { FLACDecoder } from '@wasm-audio-decoders/flac';
import { OggVorbisDecoder } from '@wasm-audio-decoders/ogg-vorbis';
import libsamplerate from '@alexanderolsen/libsamplerate-js';
import audioType from 'audio-type';
import { MPEGDecoder } from 'mpg123-decoder';
import type { UploadFormat } from '../../src/modules/uploads/upload.rules.js';
import { SAMPLE_RATE, type Stereo, deinterleave } from '../engine/dsp.js';

/** The file, not the system, is at fault: the upload ends FAILED with this message. */
export class UploadRefused extends Error {}

export interface DecodedUpload {
  /** At 44.1 kHz, whatever the file's rate; mono files are copied to both sides. */
  audio: Stereo;
  sampleRate: number;
  channels: number;
  durationSec: number;
}

interface Chunk {
  channelData: Float32Array[];
  sampleRate: number;
  errors?: unknown[];
}

interface StreamDecoder {
  decode(chunk: Uint8Array): Chunk | Promise<Chunk>;
  flush?(): Chunk | Promise<Chunk>;
  free(): void;
}

const CHUNK_BYTES = 256 * 1024;
const FORMAT_NAMES: Record<string, string> = { wav: 'WAV', mp3: 'MP3', flac: 'FLAC', ogg: 'OGG', oga: 'OGG' };

/** What the bytes are, by their signature: one of ours, another format's name, or null. */
export function sniff(bytes: Uint8Array): { format: UploadFormat | null; name: string | null } {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04)
    return { format: null, name: 'a ZIP archive' };
  const type = audioType(bytes);
  if (!type) return { format: null, name: null };
  const format = type === 'oga' ? 'ogg' : (['wav', 'mp3', 'flac'] as const).find((f) => f === type);
  return { format: format ?? null, name: FORMAT_NAMES[type] ?? type.toUpperCase() };
}

async function openDecoder(format: UploadFormat): Promise<StreamDecoder> {
  if (format === 'wav') return wavDecoder();
  const decoder = format === 'mp3' ? new MPEGDecoder() : format === 'flac' ? new FLACDecoder() : new OggVorbisDecoder();
  await decoder.ready;
  return decoder as StreamDecoder;
}

/**
 * Whether the container says the file was cut off in transfer: a RIFF file shorter than its header
 * says; an Ogg stream whose last page is not its end-of-stream page, or is not whole. (FLAC is checked against the
 * sample count in its STREAMINFO after decoding; an MP3 is a run of frames with no stated end.)
 */
function truncated(bytes: Uint8Array, format: UploadFormat): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'wav') {
    if (bytes.length < 12) return true;
    const riffSize = view.getUint32(4, true);
    return riffSize !== 0xffffffff && riffSize + 8 > bytes.length;
  }
  if (format === 'ogg') {
    const last = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).lastIndexOf('OggS');
    if (last < 0 || last + 27 > bytes.length) return true;
    // header_type bit 2: the last page of its logical stream; and that page must be whole
    // (27 header bytes, a segment table of bytes[26] entries, then the segments).
    const segments = bytes[last + 26] as number;
    const table = bytes.subarray(last + 27, last + 27 + segments);
    const end = last + 27 + segments + table.reduce((n, b) => n + b, 0);
    return ((bytes[last + 5] as number) & 0x04) === 0 || table.length < segments || end > bytes.length;
  }
  return false;
}

/**
 * From a FLAC file's STREAMINFO: the total samples per channel it states (0: not stated) and its
 * largest block. The wasm decoder sometimes drops a valid file's last frame (seen on 1 of 14
 * ffmpeg-made files; ffmpeg decodes them whole), so a shortfall of up to one block is not truncation.
 */
function flacStreamInfo(bytes: Uint8Array): { total: number; maxBlock: number } {
  if (bytes.length < 26) return { total: 0, maxBlock: 0 };
  const info = 8; // after "fLaC" and the metadata block header, STREAMINFO comes first
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    total: ((bytes[info + 13] as number) & 0x0f) * 2 ** 32 + view.getUint32(info + 14),
    maxBlock: view.getUint16(info + 2),
  };
}

const limitText = (sec: number) => (sec >= 120 && sec % 60 === 0 ? `${sec / 60} minutes` : `${sec} seconds`);

export async function decodeUpload(bytes: Uint8Array, declared: UploadFormat, maxDurationSec: number): Promise<DecodedUpload> {
  const { format, name } = sniff(bytes);
  if (!format)
    throw new UploadRefused(`the file is not audio we can read${name ? ` (it is ${name})` : ''}: send WAV, MP3, FLAC or OGG`);
  if (format !== declared)
    throw new UploadRefused(`the file is ${FORMAT_NAMES[format]}, but its content type said ${FORMAT_NAMES[declared]}`);
  if (truncated(bytes, format))
    throw new UploadRefused(`the ${FORMAT_NAMES[format]} file is truncated: it ends before its header says`);
  const decoder = await openDecoder(format);
  const out: { left: Float32Array[]; right: Float32Array[] } = { left: [], right: [] };
  let sampleRate = 0;
  let channels = 0;
  let sourceFrames = 0;
  let resampler: Awaited<ReturnType<typeof libsamplerate.create>> | null = null;
  let errors = 0;
  const take = async (chunk: Chunk) => {
    errors += chunk.errors?.length ?? 0;
    const frames = chunk.channelData[0]?.length ?? 0;
    if (!frames) return;
    if (!sampleRate) {
      sampleRate = chunk.sampleRate;
      channels = chunk.channelData.length;
      if (sampleRate < 8000 || sampleRate > 384_000)
        throw new UploadRefused(`its sample rate (${sampleRate} Hz) is not one we read`);
      if (sampleRate !== SAMPLE_RATE)
        resampler = await libsamplerate.create(2, sampleRate, SAMPLE_RATE, {
          converterType: libsamplerate.ConverterType.SRC_SINC_MEDIUM_QUALITY,
        });
    }
    sourceFrames += frames;
    if (sourceFrames / sampleRate > maxDurationSec)
      throw new UploadRefused(`the audio is longer than ${limitText(maxDurationSec)}`);
    const left = chunk.channelData[0] as Float32Array;
    const right = chunk.channelData[1] ?? left;
    if (!resampler) {
      out.left.push(left.slice());
      out.right.push(right.slice());
      return;
    }
    const interleaved = new Float32Array(frames * 2);
    for (let i = 0; i < frames; i++) {
      interleaved[2 * i] = left[i] as number;
      interleaved[2 * i + 1] = right[i] as number;
    }
    const { left: l, right: r } = deinterleave(resampler.full(interleaved));
    out.left.push(l);
    out.right.push(r);
  };
  try {
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) await take(await decoder.decode(bytes.subarray(at, at + CHUNK_BYTES)));
    if (decoder.flush) await take(await decoder.flush());
  } catch (err) {
    if (err instanceof UploadRefused) throw err;
    throw new UploadRefused(`the ${FORMAT_NAMES[format]} file could not be decoded (${(err as Error).message.slice(0, 120)})`);
  } finally {
    decoder.free();
    (resampler as { destroy(): void } | null)?.destroy();
  }
  if (!sourceFrames) throw new UploadRefused(`the ${FORMAT_NAMES[format]} file holds no audio`);
  const stated = format === 'flac' ? flacStreamInfo(bytes) : { total: 0, maxBlock: 0 };
  if (stated.total && sourceFrames < stated.total - stated.maxBlock)
    throw new UploadRefused(
      `the FLAC file is truncated: it holds ${sourceFrames} of the ${stated.total} samples its header states`,
    );
  if (errors)
    throw new UploadRefused(`the ${FORMAT_NAMES[format]} file is damaged or truncated (${errors} frames could not be decoded)`);
  return {
    audio: { left: concat(out.left), right: concat(out.right) },
    sampleRate,
    channels,
    durationSec: sourceFrames / sampleRate,
  };
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
