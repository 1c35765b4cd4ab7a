/**
 * Where a process's garbage comes from: a preload module that runs V8's sampling heap profiler in the
 * process it is loaded into, counting the objects the collector has already freed as well (which
 * `--heap-prof` leaves out), and writes one profile a second to HEAP_SAMPLE_DIR (default
 * /tmp/dawg-heap) as `<pid>-<window>-<ms since start>.json`, sampling every HEAP_SAMPLE_INTERVAL
 * bytes on average (4096 by default; the benchmarks pass HEAP_SAMPLE_* to their processes). For a
 * benchmark's api:
 *
 *   BENCH_SERVER_NODE_ARGS="--import=./scripts/bench/heap-sample.mjs" npm run bench:subscriptions -- --clients 100
 *   node scripts/bench/heap-top.mjs /tmp/dawg-heap/<pid>-03[1-3]-*.json
 *
 * A window's total (heap-top prints it) shows the phases: the steady phase allocates far more than the
 * idle spell. The sampling slows the process down (the unshared fan-out's p99 about doubled), so its
 * latencies are not the benchmark's. Used in docs/benchmarks.md, fortieth session.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

const dir = process.env.HEAP_SAMPLE_DIR || '/tmp/dawg-heap';
/** Bytes between samples, on average: V8's default is 32 KiB; smaller sees more and costs more. */
const INTERVAL = Number(process.env.HEAP_SAMPLE_INTERVAL) || 4096;
mkdirSync(dir, { recursive: true });
const session = new Session();
session.connect();
const start = () =>
  session.post('HeapProfiler.startSampling', {
    samplingInterval: INTERVAL,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
const began = Date.now();
let window = 0;
await session.post('HeapProfiler.enable');
await start();
const timer = setInterval(async () => {
  try {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    const name = `${process.pid}-${String(window++).padStart(3, '0')}-${Date.now() - began}.json`;
    writeFileSync(join(dir, name), JSON.stringify(profile));
    await start();
  } catch (err) {
    // A profiling aid must not take the process down: it stops sampling, and says why.
    clearInterval(timer);
    console.error(`heap-sample: stopped (${err instanceof Error ? err.message : err})`);
  }
}, 1000);
timer.unref();
