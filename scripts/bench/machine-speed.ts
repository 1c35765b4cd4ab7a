/**
 * How fast the machine is while a benchmark runs. The goals are times and rates, and a machine of this
 * kind runs the same work at very different speeds from one hour to the next: within one session
 * ffmpeg's single encode below took 607 ms and 1,029 ms, this probe 558 ms and 1,129 ms, and a 30 s
 * beat 0.61 s and 1.19 s (docs/benchmarks.md, "The machine's speed beside each goal"). So each goal
 * benchmark times one fixed task before it starts and again when it is done: ffmpeg, an independent
 * meter rather than our code, encoding 30 s of a sine to MP3 (192 kbps), one encode per core, all at
 * once (the benchmarks load every core, and the two cores of one machine were seen to differ: 0.73 s
 * and 0.94 s for the same encode); the wall time until the last is done, the median of three rounds.
 * It is printed and stored beside the goals; no goal reads it. A probe that fails (no ffmpeg) is
 * reported as unavailable and the benchmark goes on: its results are not lost for a missing meter.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { ffmpegPath } from '../lib/ffmpeg.mjs';
import { summarize } from './lib.js';

/** ffmpeg's arguments to encode `durationSec` of a 220 Hz sine (stereo, 44.1 kHz) to MP3 at 192 kbps, discarded. */
const encodeArgs = (durationSec: number) => [
  '-v',
  'error',
  '-f',
  'lavfi',
  '-i',
  `sine=frequency=220:duration=${durationSec}:sample_rate=44100`,
  '-ac',
  '2',
  '-b:a',
  '192k',
  '-f',
  'mp3',
  '-y',
  '/dev/null',
];

/** Starts that encode; `done` settles when ffmpeg exits, rejecting with its last line on a failure. */
function encode(durationSec: number) {
  const child = spawn(ffmpegPath(), encodeArgs(durationSec), { stdio: ['ignore', 'ignore', 'pipe'] });
  const done = new Promise<void>((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.once('error', reject);
    // 'close': after stderr is read to its end; ffmpeg's last line says what went wrong.
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`ffmpeg failed (${code}): ${stderr.trim().split('\n').at(-1) ?? ''}`)),
    );
  });
  return { child, done };
}

/** One run of that encode, in ms. */
export async function ffmpegMp3Ms(durationSec: number): Promise<number> {
  const t0 = performance.now();
  await encode(durationSec).done;
  return performance.now() - t0;
}

/** One encode of 30 s per core, all at once: ms until the last is done. If one fails, the others are stopped. */
async function allCoresMs(): Promise<number> {
  const t0 = performance.now();
  const encodes = Array.from({ length: availableParallelism() }, () => encode(30));
  try {
    await Promise.all(encodes.map((e) => e.done));
  } catch (err) {
    for (const { child } of encodes) child.kill();
    throw err;
  }
  return performance.now() - t0;
}

/** The probe: the median of three rounds of allCoresMs, in ms. */
async function speedProbeMs(): Promise<number> {
  const rounds: number[] = [];
  for (let i = 0; i < 3; i++) rounds.push(await allCoresMs());
  return summarize(rounds).p50;
}

/** A probe's reading in ms, or why there is none. */
type Reading = { ms: number } | { unavailable: string };

const read = (): Promise<Reading> =>
  speedProbeMs().then(
    (ms) => ({ ms }),
    (err: unknown) => ({ unavailable: err instanceof Error ? err.message : String(err) }),
  );

const shown = (r: Reading) => ('ms' in r ? `${r.ms.toFixed(0)} ms` : `nothing (${r.unavailable})`);

export interface MachineSpeed {
  /** The probe before the benchmark and after it, in ms (lower is faster); null where it could not run. */
  probeMs: { before: number | null; after: number | null };
  task: string;
}

/**
 * Times the probe now (await it before anything of the benchmark runs); `after()` times it again, and
 * gives both for the JSON with the line to print.
 */
export async function machineSpeed(): Promise<{ after(): Promise<{ speed: MachineSpeed; line: string }> }> {
  const before = await read();
  const cores = availableParallelism();
  return {
    async after() {
      const after = await read();
      const ms = (r: Reading) => ('ms' in r ? r.ms : null);
      const speed = {
        probeMs: { before: ms(before), after: ms(after) },
        task: `ffmpeg: 30 s of a sine to MP3 at 192 kbps, ${cores} at once (one per core), until the last is done; median of 3`,
      };
      const line = `machine speed: ${cores} ffmpeg encodes of 30 s to MP3 at once took ${shown(before)} before this run and ${shown(after)} after it (lower is faster; what it reads on this machine kind: docs/benchmarks.md)`;
      return { speed, line };
    },
  };
}
