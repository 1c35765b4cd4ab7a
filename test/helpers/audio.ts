/** Independent audio measurements with ffmpeg (scripts/lib/ffmpeg.mjs: npm's static build), for checking what the engine made. */
import { spawnSync } from 'node:child_process';
import { ffmpegPath } from '../../scripts/lib/ffmpeg.mjs';
import { deinterleave } from '../../worker/engine/dsp.js';

export interface FfmpegMeasure {
  integratedLufs: number;
  truePeakDbtp: number;
  maxVolumeDb: number;
  durationSec: number;
}

/** A file decoded by ffmpeg: each channel as 32-bit float at the file's own rate (ffmpeg honours gapless headers). */
export function decodeWithFfmpeg(file: string): { left: Float32Array; right: Float32Array } {
  const r = spawnSync(ffmpegPath(), ['-v', 'error', '-i', file, '-ac', '2', '-f', 'f32le', '-'], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`ffmpeg could not decode ${file}: ${r.stderr.toString().slice(-1000)}`);
  // A copy: the reply may not be 4-byte aligned.
  return deinterleave(new Float32Array(new Uint8Array(r.stdout).buffer));
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(-1000)}`);
  return `${r.stdout}\n${r.stderr}`;
}

/** ebur128 (integrated loudness, true peak), volumedetect (max sample) and the duration ffmpeg reads. */
export function measure(file: string): FfmpegMeasure {
  const text = run(ffmpegPath(), [
    '-hide_banner',
    '-nostats',
    '-i',
    file,
    '-af',
    'ebur128=peak=true,volumedetect',
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
