/**
 * `npm run bench:queue [-- --rate 200 --seconds 5 --warmup 3000 --count 100 --soak 0]`, against real
 * api and worker processes:
 * 1. generateBeat latency at a steady request rate (worker stopped, so the api is measured alone);
 *    baseline in the same run: BullMQ's own queue.add at the same rate. The api is warmed up first
 *    with `warmup` requests of another user's (a fresh api keeps speeding up over its first few
 *    thousand requests: docs/benchmarks.md), whose generations and jobs are then deleted; then the
 *    measured user makes a discarded round of its own, so the measured round finds the tables and the
 *    queue as it did before the warm-up was added;
 * 2. end to end, mutation → COMPLETED, for a 30 s beat with an idle worker (10 in a row);
 * 3. throughput: `count` beats of 30 s queued at once, beats per minute with the default worker (one
 *    engine thread per core), its peak RSS, and the jobs BullMQ saw stall (none stalled for real: a
 *    stall is a lock renewal that starved). `--soak 600` then keeps the queue full for 600 s more
 *    and counts stalls over it too;
 * 4. fairness and the wait estimate: user A queues `backlog` beats of 30 s, then user B one. B's wait
 *    (queued → started) against what first-come-first-served would have made it (the moment A's last
 *    beat started: B's turn in a FIFO queue), and each A beat's estimatedStartSec at queueing against
 *    its real wait (goal: B starts within one job duration per worker slot);
 * 5. the worker's RSS after all that, once its engine pool has given back what the jobs left (a release
 *    once no engine task has run for HEAP_TRIM_IDLE_MS, read off its dawg_engine_releases_total).
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { parseConfig } from '../../src/config.js';
import { createGenerationQueue } from '../../src/jobs/generation-job.js';
import { paced, rssOf, signUp, spawnTs, startBenchApi, summarize, table, writeResult } from './lib.js';
import { machineSpeed } from './machine-speed.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '3000' },
    count: { type: 'string', default: '100' },
    backlog: { type: 'string', default: '40' },
    soak: { type: 'string', default: '0' },
  },
});
const BACKLOG = Number(values.backlog);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const COUNT = Number(values.count);
const SOAK = Number(values.soak);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const probe = await machineSpeed();
const api = await startBenchApi();
const { gql, env, databaseUrl, prefix } = api;
/** The settings the worker reads from that env, its defaults included. */
const workerConfig = parseConfig(env);
const run = prefix.replace(/^dawg-bench-|:$/g, '');
const token = await signUp(gql, `bench-${run}@example.test`);
const GENERATE = 'mutation($input: GenerateBeatInput!) { generateBeat(input: $input) { id } }';
const beat = (durationSec: number, as = token) =>
  gql(GENERATE, { input: { genre: 'lofi', bpm: 90, key: 'A minor', mood: 'mellow', durationSec } }, as);
/** Queues a beat; its id, or the error the api answered with. */
async function queueBeat(durationSec: number): Promise<string> {
  const r = await beat(durationSec);
  const id = r.data?.generateBeat?.id;
  if (typeof id !== 'string') throw new Error(`generateBeat failed: ${JSON.stringify(r.errors ?? r).slice(0, 300)}`);
  return id;
}

/** Fires `fn` at RATE/s for SECONDS, returning each call's latency (ms). */
const atRate = async (fn: () => Promise<unknown>) => (await paced(RATE, RATE * SECONDS, fn)).latencies;

// 1. Mutation latency, api alone; baseline: bare queue.add. The warm-up's latencies are discarded, and
// so are its generations and jobs: the measured rounds meet the table, its indexes and the queue's
// sets as small as they were without it (the pending cap counts only the measured user's own rows).
const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const mainQueue = createGenerationQueue(connection, prefix);
const pg = await import('pg');
const db = new pg.default.Client({ connectionString: databaseUrl });
await db.connect();
if (WARMUP > 0) {
  const warmupToken = await signUp(gql, `bench-${run}-warmup@example.test`);
  await paced(RATE, WARMUP, () => beat(5, warmupToken));
  await mainQueue.obliterate({ force: true });
  // Only the warm-up's rows are there. TRUNCATE also resets the table's size for the planner (not
  // column statistics, should autovacuum have analysed it meanwhile).
  await db.query('TRUNCATE generations CASCADE');
}
await atRate(() => beat(5));
const mutation = summarize(await atRate(() => beat(5)));
const queue = createGenerationQueue(connection, `${prefix}baseline:`);
let n = 0;
const enqueue = summarize(
  await atRate(() =>
    queue.add(
      'BEAT',
      { generationId: '00000000-0000-4000-8000-000000000000', userId: '00000000-0000-4000-8000-000000000000', type: 'BEAT' },
      { jobId: `b${n++}` },
    ),
  ),
);
await queue.obliterate({ force: true });
// The latency phase's jobs are not part of the later phases.
await mainQueue.obliterate({ force: true });
await db.query(`UPDATE generations SET status = 'CANCELLED'`);

// 2. End to end with an idle worker.
// A free port for its /metrics (read below): a worker left over elsewhere may hold the default.
// The compiled worker, as `npm start` runs it (startBenchApi built dist/).
// BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the worker (each engine thread too).
const worker = await spawnTs('dist/worker/main.js', { ...env, WORKER_PORT: '0' }, /dawg worker ready/, {
  nodeArgs: ['--enable-source-maps', ...(process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
  tsx: false,
});
const STATUS = 'query($id: ID!) { generation(id: $id) { status } }';
async function until(id: string) {
  for (;;) {
    const s = (await gql(STATUS, { id }, token)).data.generation?.status;
    if (s === 'COMPLETED' || s === 'FAILED') return s;
    await sleep(20);
  }
}
/** A counter of the worker's /metrics, summed over its series: dawg_jobs_stalled_total, say. */
const workerUrl = /"url":"([^"]+)"/.exec(worker.output())?.[1];
async function workerCount(name: string): Promise<number> {
  const text = await (await fetch(`${workerUrl}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
}
const e2e: number[] = [];
for (let i = 0; i < 10; i++) {
  const t0 = performance.now();
  const id = await queueBeat(30);
  if ((await until(id)) !== 'COMPLETED') throw new Error('generation failed');
  e2e.push(performance.now() - t0);
}
const endToEnd = summarize(e2e);

// 3. Throughput.
const t0 = performance.now();
const ids = await Promise.all(Array.from({ length: COUNT }, () => queueBeat(30)));
const { rows } = await (async () => {
  for (;;) {
    const r = await db.query(
      `SELECT count(*) FILTER (WHERE status = 'COMPLETED') AS done, count(*) FILTER (WHERE status = 'FAILED') AS failed FROM generations WHERE id = ANY($1::uuid[])`,
      [ids.map((g) => Buffer.from(g, 'base64').toString().split(':')[1])],
    );
    if (Number(r.rows[0].done) + Number(r.rows[0].failed) >= COUNT) return r;
    await sleep(200);
  }
})();
const throughputSec = (performance.now() - t0) / 1000;
const beatsPerMinute = (Number(rows[0].done) / throughputSec) * 60;
const workerPid = worker.child.pid as number;
const workerPeakMiB = rssOf(workerPid).peakMiB;

// 3b. Soak: the queue kept full for SOAK seconds; lock renewal must never starve (no stall).
let soak: { seconds: number; completed: number; failed: number } | null = null;
if (SOAK > 0) {
  const until = performance.now() + SOAK * 1000;
  const queued: string[] = [];
  while (performance.now() < until) {
    // Beats are queued with a priority (the fair queue): those wait in BullMQ's prioritized list.
    const counts = await mainQueue.getJobCounts('waiting', 'prioritized');
    const waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0);
    for (let i = waiting; i < 20; i++) queued.push(await queueBeat(30));
    await sleep(1000);
  }
  const raw = queued.map((g) => Buffer.from(g, 'base64').toString().split(':')[1]);
  for (;;) {
    const r = await db.query(
      `SELECT count(*) FILTER (WHERE status = 'COMPLETED') AS done, count(*) FILTER (WHERE status = 'FAILED') AS failed FROM generations WHERE id = ANY($1::uuid[])`,
      [raw],
    );
    if (Number(r.rows[0].done) + Number(r.rows[0].failed) >= raw.length) {
      soak = { seconds: SOAK, completed: Number(r.rows[0].done), failed: Number(r.rows[0].failed) };
      break;
    }
    await sleep(500);
  }
}
const stalls = await workerCount('dawg_jobs_stalled_total');

// 4. Fairness and the estimate. Three beats first, so the estimate has durations to go by.
for (let i = 0; i < 3; i++) await until(await queueBeat(30));
await sleep(10_500); // the api re-reads its measured figures every 10 s
const [tokenA, tokenB] = [await signUp(gql, `a-${run}@example.test`), await signUp(gql, `b-${run}@example.test`)];
const ENQUEUE = 'mutation($input: GenerateBeatInput!) { generateBeat(input: $input) { id estimatedStartSec } }';
const input = { genre: 'lofi', bpm: 90, key: 'A minor', mood: 'mellow', durationSec: 30 };
const queuedA: { id: string; estimate: number | null }[] = [];
for (let i = 0; i < BACKLOG; i++) {
  const g = (await gql(ENQUEUE, { input }, tokenA)).data.generateBeat as { id: string; estimatedStartSec: number | null };
  queuedA.push({ id: g.id, estimate: g.estimatedStartSec });
}
const bId = (await gql(ENQUEUE, { input }, tokenB)).data.generateBeat?.id as string;
// The engine is busy from here on: a release counted after this is the one after the burst (phase 5).
const releasesInBurst = await workerCount('dawg_engine_releases_total');
const rawOf = (g: string) => Buffer.from(g, 'base64').toString().split(':')[1] as string;
const all = [...queuedA.map((g) => g.id), bId].map(rawOf);
for (;;) {
  const r = await db.query(
    `SELECT count(*) AS n FROM generations WHERE id = ANY($1::uuid[]) AND status IN ('COMPLETED', 'FAILED')`,
    [all],
  );
  if (Number(r.rows[0].n) >= all.length) break;
  await sleep(200);
}
const timing = new Map(
  (
    await db.query(
      `SELECT id, extract(epoch FROM started_at - queued_at) AS wait, extract(epoch FROM started_at) AS started, duration_ms FROM generations WHERE id = ANY($1::uuid[])`,
      [all],
    )
  ).rows.map((r) => [r.id as string, { wait: Number(r.wait), started: Number(r.started), ms: Number(r.duration_ms) }]),
);
const b = timing.get(rawOf(bId)) as { wait: number; started: number; ms: number };
const aStarts = queuedA.map((g) => timing.get(rawOf(g.id))?.started ?? 0);
const bQueuedAt = b.started - b.wait;
const fifoWait = Math.max(...aStarts) - bQueuedAt; // B's turn behind the whole backlog
const meanJobSec = [...timing.values()].reduce((n, t) => n + t.ms, 0) / timing.size / 1000;
const slots = workerConfig.WORKER_CONCURRENCY;
const errors = queuedA
  .filter((g) => g.estimate !== null)
  .map((g) => Math.abs((g.estimate as number) - (timing.get(rawOf(g.id))?.wait ?? 0)));
const estimateError = summarize(errors.map((e) => e * 1000));
const fair = b.wait <= meanJobSec + 0.5; // one job duration, and half a second of scheduling

// 5. The worker's memory after the burst: its RSS once its engine has given back what the jobs left
// (a release once no engine task has run for HEAP_TRIM_IDLE_MS; the last jobs ended just now).
const idleMs = workerConfig.HEAP_TRIM_IDLE_MS;
let quiet: { rssMiB: number; peakMiB: number } | null = null;
if (idleMs > 0) {
  const deadline = performance.now() + idleMs + 30_000;
  let released = false;
  while (!released && performance.now() < deadline) {
    released = (await workerCount('dawg_engine_releases_total')) > releasesInBurst;
    if (!released) await sleep(250);
  }
  // VmHWM: the peak over the whole run (the soak's and phase 4's beats too).
  if (released) quiet = rssOf(workerPid);
}

await db.end();
await worker.stop();
await mainQueue.close();
connection.disconnect();
await api.stop();

console.log(
  table([
    {
      measure: `generateBeat at ${RATE}/s (api alone)`,
      p50: `${mutation.p50.toFixed(1)} ms`,
      p99: `${mutation.p99.toFixed(1)} ms`,
      n: mutation.count,
    },
    {
      measure: `baseline: BullMQ queue.add at ${RATE}/s`,
      p50: `${enqueue.p50.toFixed(1)} ms`,
      p99: `${enqueue.p99.toFixed(1)} ms`,
      n: enqueue.count,
    },
    {
      measure: 'mutation → COMPLETED, 30 s beat, idle worker',
      p50: `${(endToEnd.p50 / 1000).toFixed(2)} s`,
      p99: `${(endToEnd.p99 / 1000).toFixed(2)} s`,
      n: endToEnd.count,
    },
    {
      measure: `${COUNT} × 30 s beats queued at once`,
      p50: `${beatsPerMinute.toFixed(1)} beats/min`,
      p99: `${throughputSec.toFixed(0)} s total, ${rows[0].failed} failed; worker peak RSS ${workerPeakMiB} MiB`,
      n: COUNT,
    },
    ...(soak
      ? [
          {
            measure: `soak: queue kept full for ${soak.seconds} s`,
            p50: `${((soak.completed / soak.seconds) * 60).toFixed(1)} beats/min`,
            p99: `${soak.completed} completed, ${soak.failed} failed`,
            n: soak.completed + soak.failed,
          },
        ]
      : []),
    {
      measure: "worker RSS after the burst, once its engine's memory is given back",
      p50: quiet ? `${quiet.rssMiB} MiB` : 'not measured',
      p99: quiet ? `peak over the run ${quiet.peakMiB} MiB` : idleMs > 0 ? 'no release came' : 'HEAP_TRIM_IDLE_MS=0: no release',
      n: 1,
    },
    {
      measure: `fairness: B's one beat behind A's ${BACKLOG}, wait (queued → started)`,
      p50: `${b.wait.toFixed(2)} s`,
      p99: `baseline FIFO ${fifoWait.toFixed(1)} s; one job ${meanJobSec.toFixed(2)} s, ${slots} slot(s)`,
      n: 1,
    },
    {
      measure: 'estimatedStartSec at queueing vs real wait, |error|',
      p50: `${(estimateError.p50 / 1000).toFixed(2)} s`,
      p99: `${(estimateError.p99 / 1000).toFixed(2)} s (p99)`,
      n: estimateError.count,
    },
  ]),
);
const { speed, line: speedLine } = await probe.after();
console.log(speedLine);
const goals = {
  // Issue 14's goals (docs/benchmarks.md, "Queue and pipeline").
  mutationP99: mutation.p99 <= 20,
  playableP99: endToEnd.p99 <= 2000,
  beatsPerMinute: beatsPerMinute >= 100,
  noStalls: stalls === 0,
  fair,
};
const pass = Object.values(goals).every(Boolean);
const metOrNot = (ok: boolean) => (ok ? 'met' : 'NOT met');
console.log(`\nmutation p99 / queue.add p99: ×${(mutation.p99 / enqueue.p99).toFixed(1)}`);
console.log(`goal: generateBeat p99 ≤ 20 ms at ${RATE}/s (${mutation.p99.toFixed(1)} ms): ${metOrNot(goals.mutationP99)}`);
console.log(
  `goal: mutation → playable p99 ≤ 2 s, idle worker (${(endToEnd.p99 / 1000).toFixed(2)} s): ${metOrNot(goals.playableP99)}`,
);
console.log(`goal: ≥ 100 beats of 30 s per minute (${beatsPerMinute.toFixed(1)}): ${metOrNot(goals.beatsPerMinute)}`);
console.log(
  `goal: 0 stalled jobs at full load (${stalls} over ${COUNT} beats${soak ? ` and ${soak.seconds} s of soak` : '; --soak 600 for the 10-minute run'}): ${metOrNot(goals.noStalls)}`,
);
console.log(`goal: fairness, B starts within one job duration per slot (${meanJobSec.toFixed(2)} s): ${metOrNot(fair)}`);
console.log(
  `wrote ${await writeResult('queue', { params: { rate: RATE, seconds: SECONDS, warmup: WARMUP, count: COUNT }, mutationMs: mutation, queueAddMs: enqueue, endToEndMs: { ...endToEnd, each: e2e.map((ms) => Math.round(ms)) }, throughput: { count: COUNT, seconds: throughputSec, beatsPerMinute, failed: Number(rows[0].failed), workerPeakMiB, stalls }, workerAfterBurst: quiet, soak, goals, fairness: { backlog: BACKLOG, bWaitSec: b.wait, fifoWaitSec: fifoWait, meanJobSec, slots, met: fair }, estimateErrorMs: estimateError, pass, speed })}`,
);
process.exit(0);
