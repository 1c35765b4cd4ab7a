/** Independent audio measurements with ffmpeg (scripts/lib/ffmpeg.mjs: npm's static build), for checking what the engine made. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { MPEGDecoder } from 'mpg123-decoder';
import { ffmpegPath } from '../../scripts/lib/ffmpeg.mjs';
import { SAMPLE_RATE, type Stereo, deinterleave } from '../../worker/engine/dsp.js';

export interface FfmpegMeasure {
  integratedLufs: number;
  truePeakDbtp: number;
  maxVolumeDb: number;
  durationSec: number;
}

/** MP3 bytes decoded by mpg123 (the wasm build the upload path uses, a second decoder beside ffmpeg): each channel and any errors. */
export async function decodeWithMpg123(mp3: Uint8Array): Promise<{ channelData: Float32Array[]; errors: unknown[] }> {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  const { channelData, errors } = decoder.decode(mp3);
  decoder.free();
  return { channelData: channelData as Float32Array[], errors };
}

/**
 * A file decoded by ffmpeg: each channel as 32-bit float at the file's own rate (ffmpeg honours gapless
 * headers), through the ffmpeg audio filter chain `filter` when given.
 */
export function decodeWithFfmpeg(file: string, filter?: string): { left: Float32Array; right: Float32Array } {
  const af = filter ? ['-af', filter] : [];
  const r = spawnSync(ffmpegPath(), ['-v', 'error', '-i', file, ...af, '-ac', '2', '-f', 'f32le', '-'], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`ffmpeg could not decode ${file}: ${r.stderr.toString().slice(-1000)}`);
  // A copy: the reply may not be 4-byte aligned.
  return deinterleave(new Float32Array(new Uint8Array(r.stdout).buffer));
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(-1000)}`);
  return `${r.stdout}\n${r.stderr}`;
}

/**
 * ebur128 (integrated loudness, true peak), volumedetect (max sample) and the duration ffmpeg reads; of
 * the file through the ffmpeg filter chain `filter` first when given (a `pan`, say).
 */
export function measure(file: string, filter?: string): FfmpegMeasure {
  const text = run(ffmpegPath(), [
    '-hide_banner',
    '-nostats',
    '-i',
    file,
    '-af',
    `${filter ? `${filter},` : ''}ebur128=peak=true,volumedetect`,
    '-f',
    'null',
    '-',
  ]);
  const summary = text.slice(text.lastIndexOf('Summary:'));
  const num = (re: RegExp, src: string) => {
    const m = re.exec(src);
    if (!m?.[1]) throw new Error(`ffmpeg output lacks ${re}:\n${text.slice(-1500)}`);
    return Number(m[1]);
  };
  const duration = /Duration: (\d+):(\d+):([\d.]+)/.exec(text);
  if (!duration) throw new Error(`ffmpeg output lacks the input's duration:\n${text.slice(0, 1500)}`);
  return {
    integratedLufs: num(/I:\s+(-?[\d.]+) LUFS/, summary),
    truePeakDbtp: num(/Peak:\s+(-?[\d.]+) dBFS/, summary),
    maxVolumeDb: num(/max_volume:\s+(-?[\d.]+) dB/, text),
    durationSec: Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]),
  };
}

/** `s` as a 32-bit float WAV at `path`: no clipping and no rounding, whatever its level. */
export function writeFloatWav(path: string, s: Stereo): void {
  const frames = s.left.length;
  const buf = Buffer.alloc(44 + frames * 8);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + frames * 8, 4);
  buf.write('WAVEfmt ', 8, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(3, 20); // IEEE float
  buf.writeUInt16LE(2, 22);
  buf.writeUInt32LE(SAMPLE_RATE, 24);
  buf.writeUInt32LE(SAMPLE_RATE * 8, 28);
  buf.writeUInt16LE(8, 32);
  buf.writeUInt16LE(32, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(frames * 8, 40);
  const pcm = new Float32Array(2 * frames);
  for (let i = 0; i < frames; i++) {
    pcm[2 * i] = s.left[i] as number;
    pcm[2 * i + 1] = s.right[i] as number;
  }
  Buffer.from(pcm.buffer).copy(buf, 44);
  writeFileSync(path, buf);
}

/** The "Overall" RMS level of each astats instance in ffmpeg's output, in the order they appear in the filter graph. */
function astatsRmsLevels(text: string): number[] {
  const levels = new Map<number, number>();
  const re = /\[Parsed_astats_(\d+) @ [^\]]+\] Overall[\s\S]*?RMS level dB: (-?[\d.]+|-inf)/g;
  for (const m of text.matchAll(re)) levels.set(Number(m[1]), m[2] === '-inf' ? Number.NEGATIVE_INFINITY : Number(m[2]));
  if (!levels.size) throw new Error(`ffmpeg output lacks astats:\n${text.slice(-1500)}`);
  return [...levels.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
}

/** RMS level of the whole file, both channels together, in dBFS (ffmpeg's astats); through the filter chain `filter` first when given. */
export function rmsDb(file: string, filter?: string): number {
  const af = `${filter ? `${filter},` : ''}astats`;
  const text = run(ffmpegPath(), ['-hide_banner', '-nostats', '-i', file, '-af', af, '-f', 'null', '-']);
  return astatsRmsLevels(text)[0] as number;
}

/**
 * An ffmpeg filter keeping only [lowHz, highHz) of the spectrum: a brick wall in the frequency domain
 * (afftfilt, 8,192-point Hann frames overlapping by half, which add back to a constant), so a band's share does not leak in from its neighbours the way a
 * 12 dB/octave biquad's would. Pad the input by three frames first (`apad=pad_len=24576`): afftfilt drops up to two frames at the end.
 */
export function bandFilter(lowHz: number, highHz: number): string {
  const keep = `between(b*sr/(2*nb),${lowHz},${highHz - 1e-6})`;
  return `afftfilt=real='re*${keep}':imag='im*${keep}':win_size=w8192:overlap=0.5`;
}

/**
 * The share of the file's energy in each band [low, high) Hz, by ffmpeg: one brick-wall band filter
 * per band beside an all-pass one through the same FFT (so the filter's own gain cancels), astats RMS.
 */
export function bandShares(file: string, bands: [number, number][]): number[] {
  const branches = [[0, SAMPLE_RATE] as [number, number], ...bands];
  const labels = branches.map((_, i) => `b${i}`);
  const graph = [
    `[0:a]apad=pad_len=24576,asplit=${branches.length}${labels.map((l) => `[${l}]`).join('')}`,
    ...branches.map(([lo, hi], i) => `[${labels[i]}]${bandFilter(lo, hi)},astats[o${i}]`),
  ].join(';');
  const outputs = branches.flatMap((_, i) => ['-map', `[o${i}]`, '-f', 'null', '-']);
  const text = run(ffmpegPath(), ['-hide_banner', '-nostats', '-i', file, '-filter_complex', graph, ...outputs]);
  const [total, ...levels] = astatsRmsLevels(text);
  return levels.map((db) => 10 ** ((db - (total as number)) / 10));
}

/** RMS level (dBFS, both channels) of each whole window of `windowFrames` frames, by ffmpeg's astats. */
export function windowRmsDb(file: string, windowFrames: number): number[] {
  const text = run(ffmpegPath(), [
    '-hide_banner',
    '-nostats',
    '-i',
    file,
    '-af',
    `asetnsamples=n=${windowFrames}:p=0,astats=metadata=1:reset=1,ametadata=print:key=lavfi.astats.Overall.RMS_level:file=-`,
    '-f',
    'null',
    '-',
  ]);
  const levels = [...text.matchAll(/lavfi\.astats\.Overall\.RMS_level=(-?[\d.]+|-inf)/g)].map((m) =>
    m[1] === '-inf' ? Number.NEGATIVE_INFINITY : Number(m[1]),
  );
  if (!levels.length) throw new Error(`ffmpeg printed no window levels:\n${text.slice(-1500)}`);
  return levels;
}
