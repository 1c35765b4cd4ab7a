/**
 * `npm run bench:audio [-- --runs 5 --duration 30]`: a BEAT composed, rendered,
 * mastered and encoded to MP3 + WAV + MIDI, on one core (one thread). Reports
 * the first (cold) run and the median of the warm ones as × real time, the
 * stage split, and peak RSS. Then the same beats as the worker renders them, on
 * its engine pool (one thread per core, worker/engine-pool/) with nothing else
 * queued, where a beat's chords render on the second thread: the time a person
 * waits, which issue 14's goal is about. Baseline in the same run: native
 * ffmpeg/LAME encoding the same duration to MP3.
 */
import { parseArgs } from 'node:util';
import { parseKey } from '../../src/music/keys.js';
import { encodeMidi, encodeMp3, encodeWav } from '../../worker/engine/encode.js';
import { compose } from '../../worker/engine/composer.js';
import { renderBeat } from '../../worker/engine/index.js';
import { renderStems } from '../../worker/engine/render.js';
import { EnginePool, defaultThreads } from '../../worker/engine-pool/pool.js';
import { renderWithWebAudio } from './webaudio-render.js';
import { summarize, table, writeResult } from './lib.js';
import { ffmpegMp3Ms, machineSpeed } from './machine-speed.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '6' }, duration: { type: 'string', default: '30' } },
});
const RUNS = Number(values.runs);
const DURATION = Number(values.duration);
const key = parseKey('A minor');
if (!key) throw new Error('key');
const probe = await machineSpeed();

const runs: { render: number; mp3: number; wavMidi: number; total: number }[] = [];
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  const track = await renderBeat({ genre: 'lofi', bpm: 90, key, mood: 'mellow', durationSec: DURATION, seed: 1000 + i });
  const t1 = performance.now();
  await encodeMp3(track.mix);
  const t2 = performance.now();
  encodeWav(track.mix);
  encodeMidi(track.arrangement);
  const t3 = performance.now();
  runs.push({ render: t1 - t0, mp3: t2 - t1, wavMidi: t3 - t2, total: t3 - t0 });
}
const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);

// As the worker runs it: a pool started and warmed as the worker starts it, then the same beats one at a
// time (the first is the pool's cold one). Fresh seeds, so no thread has seen them.
const pool = new EnginePool(defaultThreads());
await pool.warm();
const pooled: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  await pool.beat({ genre: 'lofi', bpm: 90, key, mood: 'mellow', durationSec: DURATION, seed: 3000 + i }, () => {});
  pooled.push(performance.now() - t0);
}
await pool.close();

// The same arrangements' synthesis through node-web-audio-api, against our renderStems (same run).
const ours: number[] = [];
const webaudio: number[] = [];
for (let i = 0; i < 4; i++) {
  const arrangement = compose({ genre: 'lofi', bpm: 90, key, mood: 'mellow', durationSec: DURATION, seed: 2000 + i });
  const t0 = performance.now();
  await renderStems(arrangement);
  ours.push(performance.now() - t0);
  webaudio.push(await renderWithWebAudio(arrangement));
}

const ffmpegTimes: number[] = [];
for (let i = 0; i < 3; i++) ffmpegTimes.push(await ffmpegMp3Ms(DURATION));

const warm = runs.slice(1);
const med = (k: keyof (typeof runs)[number]) => summarize(warm.map((r) => r[k])).p50;
const cold = runs[0] as (typeof runs)[number];
const rt = (ms: number) => (DURATION * 1000) / ms;
const ffmpegMs = summarize(ffmpegTimes).p50;
console.log(
  table([
    {
      run: 'cold (first)',
      'compose+render+master ms': cold.render.toFixed(0),
      'mp3 ms': cold.mp3.toFixed(0),
      'wav+midi ms': cold.wavMidi.toFixed(0),
      'total ms': cold.total.toFixed(0),
      '× real time': rt(cold.total).toFixed(1),
    },
    {
      run: `warm (median of ${warm.length})`,
      'compose+render+master ms': med('render').toFixed(0),
      'mp3 ms': med('mp3').toFixed(0),
      'wav+midi ms': med('wavMidi').toFixed(0),
      'total ms': med('total').toFixed(0),
      '× real time': rt(med('total')).toFixed(1),
    },
    {
      run: 'baseline: ffmpeg/LAME mp3 only',
      'compose+render+master ms': '-',
      'mp3 ms': ffmpegMs.toFixed(0),
      'wav+midi ms': '-',
      'total ms': ffmpegMs.toFixed(0),
      '× real time': rt(ffmpegMs).toFixed(1),
    },
  ]),
);
const oursMs = summarize(ours.slice(1)).p50;
const webMs = summarize(webaudio.slice(1)).p50;
console.log(
  `\nsynthesis only (median of 3 warm): hand-written DSP renderStems ${oursMs.toFixed(0)} ms, node-web-audio-api OfflineAudioContext ${webMs.toFixed(0)} ms (×${(webMs / oursMs).toFixed(2)})`,
);
const floor = rt(med('total')) >= 20 && peakRssMiB <= 300;
console.log(`\npeak RSS ${peakRssMiB} MiB; our wasm MP3 / native ffmpeg MP3: ×${(med('mp3') / ffmpegMs).toFixed(2)} time`);
console.log(`floor (≥ 20× real time warm, ≤ 300 MB): ${floor ? 'met' : 'NOT met'}`);
// Issue 14, goal 4: the whole beat (compose, render, master, MP3, WAV and MIDI) as a person waits for it,
// on the worker's engine pool with nothing else queued; one thread's figures beside it.
const pooledWarm = summarize(pooled.slice(1)).p50;
const pooledCold = pooled[0] as number;
console.log(
  `\nengine pool (${defaultThreads()} threads, idle), the worker's path: cold ${pooledCold.toFixed(0)} ms, warm median ${pooledWarm.toFixed(0)} ms (one thread: ${cold.total.toFixed(0)} / ${med('total').toFixed(0)} ms, ×${(pooledWarm / med('total')).toFixed(2)})`,
);
const { speed, line: speedLine } = await probe.after();
console.log(speedLine);
const goals = { warm: pooledWarm <= 1000, cold: pooledCold <= 1500 };
const metOrNot = (ok: boolean) => (ok ? 'met' : 'NOT met');
console.log(`goal: ${DURATION} s beat ≤ 1.0 s warm, engine pool (${(pooledWarm / 1000).toFixed(2)} s): ${metOrNot(goals.warm)}`);
console.log(
  `goal: ${DURATION} s beat ≤ 1.5 s cold, first of a pool (${(pooledCold / 1000).toFixed(2)} s): ${metOrNot(goals.cold)}`,
);
const pass = floor && goals.warm && goals.cold;
console.log(
  `wrote ${await writeResult('audio', { params: { runs: RUNS, durationSec: DURATION, threads: defaultThreads() }, runs, pooledMs: pooled, ffmpegMp3Ms: ffmpegTimes, synthesisMs: { handWritten: ours, webAudio: webaudio }, peakRssMiB, floor, goals, pass, speed })}`,
);
