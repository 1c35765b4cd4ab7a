/** Independent audio measurements with ffmpeg and ffprobe (Debian's), for checking what the engine made. */
import { spawnSync } from 'node:child_process';

export interface FfmpegMeasure {
  integratedLufs: number;
  truePeakDbtp: number;
  maxVolumeDb: number;
  durationSec: number;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(-1000)}`);
  return `${r.stdout}\n${r.stderr}`;
}

/** ebur128 (integrated loudness, true peak), volumedetect (max sample) and ffprobe's duration. */
export function measure(file: string): FfmpegMeasure {
  const text = run('ffmpeg', [
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
  const duration = run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
  return {
    integratedLufs: num(/I:\s+(-?[\d.]+) LUFS/, summary),
    truePeakDbtp: num(/Peak:\s+(-?[\d.]+) dBFS/, summary),
    maxVolumeDb: num(/max_volume:\s+(-?[\d.]+) dB/, text),
    durationSec: Number.parseFloat(duration.trim()),
  };
}
