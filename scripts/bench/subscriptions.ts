/**
 * `npm run bench:subscriptions [-- --clients 2000,10000 --unshared 2000 --events 20 --rate 5 --burst 20 --idle 20]`
 *
 * For each count in `--clients`, N graphql-ws clients of one viewer subscribe to one conversation's
 * messageAdded on one api process (executed once and shared); events are published through Redis
 * with the real PubSub module. Measures delivery latency and the server's CPU time per delivery at a
 * steady rate (N × rate deliveries/s), deliveries/s in a burst, and the server's RSS: once every
 * socket is connected, after `--idle` seconds with nothing sent (the idle figure), and after the
 * burst. Baseline in the same run: a bare ws server relaying the same Redis channel to the same
 * number of sockets, run with the api's node options (scripts/lib/api-env.mjs).
 *
 * `--unshared N` (0 skips it): N sockets, each for a different viewer (members of the project that
 * holds the conversation, so each is executed on its own: nothing can be shared).
 *
 * Issue 14's goals: at 10,000 sockets, steady p99 ≤ 2× the baseline's, burst ≥ 0.7× its
 * throughput, RSS ≤ 3× its RSS and ≤ 300 MiB idle; unshared, ≥ 10,000 deliveries/s with p99 ≤ 150 ms.
 */
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import type { Message } from '../../src/generated/prisma/client.js';
import pg from 'pg';
import { TokenService } from '../../src/modules/auth/tokens.js';
import { fullGc } from '../../src/heap-trim.js';
import { PubSub } from '../../src/pubsub.js';
import { cpuMsOf, rssOf, spawnTs, startBenchApi, summarize, table, writeResult } from './lib.js';
import { machineSpeed } from './machine-speed.js';
import { API_NODE_ARGS } from '../lib/api-env.mjs';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '2000,10000' },
    unshared: { type: 'string', default: '2000' },
    events: { type: 'string', default: '20' },
    rate: { type: 'string', default: '5' },
    burst: { type: 'string', default: '20' },
    idle: { type: 'string', default: '20' },
  },
});
const COUNTS = String(args.clients).split(',').map(Number);
const UNSHARED = Number(args.unshared);
const EVENTS = Number(args.events);
const RATE = Number(args.rate);
const BURST = Number(args.burst);
/** Seconds the sockets stay idle before the idle RSS is read (the api trims its heap after HEAP_TRIM_IDLE_MS quiet). */
const IDLE_SEC = Number(args.idle);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const now = () => performance.timeOrigin + performance.now();
/** The burst's events are numbered from here (the steady phase's from 0, the warm-up's below 0). */
const BURST_SEQ = 100_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Target {
  name: string;
  pid: number;
  /** Opens one client that calls onContent(content) for each event. */
  connect(onContent: (content: string) => void): Promise<() => void>;
  publish(content: string): Promise<void>;
  stop(): Promise<void>;
}

/** Records, per event seq, how many clients received it and each delivery's latency. */
class Recorder {
  constructor(readonly clients: number) {}
  latencies: number[] = [];
  /** The steady phase's latencies but those of seq 0, the first event after the idle spell. */
  latenciesAfterFirst: number[] = [];
  /**
   * Per steady event (by seq), its slowest delivery: one event's fan-out runs as a whole, so a slow
   * p99 is a few slow events, and this shows which (the first after the idle spell, or others).
   */
  slowestBySeq: number[] = [];
  received = new Map<number, number>();
  onContent = (content: string) => {
    const [seqText, sentText] = content.split(':');
    const seq = Number(seqText);
    this.received.set(seq, (this.received.get(seq) ?? 0) + 1);
    if (seq < 0) return;
    const latency = now() - Number(sentText);
    this.latencies.push(latency);
    if (seq >= BURST_SEQ) return;
    this.slowestBySeq[seq] = Math.max(this.slowestBySeq[seq] ?? 0, latency);
    if (seq > 0) this.latenciesAfterFirst.push(latency);
  };
  async waitFor(seqs: number[], count: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (seqs.every((s) => (this.received.get(s) ?? 0) >= count)) return true;
      await sleep(5);
    }
    return false;
  }
}

async function run(target: Target, N: number) {
  const recorder = new Recorder(N);
  const closers: (() => void)[] = [];
  const started = Date.now();
  for (let i = 0; i < N; i += 200) {
    closers.push(...(await Promise.all(Array.from({ length: Math.min(200, N - i) }, () => target.connect(recorder.onContent)))));
  }
  // Warm-up: repeat until every client is subscribed and has seen one event.
  let warm = false;
  for (let attempt = 0; attempt < 60 && !warm; attempt++) {
    await target.publish(`${-1 - attempt}:0`);
    warm = await waitAll(recorder, attempt, 500);
  }
  if (!warm) throw new Error(`${target.name}: not every client got the warm-up event`);
  const connectSec = (Date.now() - started) / 1000;
  const rssConnected = rssOf(target.pid);
  await sleep(IDLE_SEC * 1000);
  const rssIdle = rssOf(target.pid);
  // The load generator runs a full collection of its own before the measured phases (the api's idle
  // trim runs one too, compacting): the earlier phases (10,000 sockets) leave it garbage. Without it, its
  // event loop stalled for 308 ms in one Node 22 run's unshared steady phase, and every latency it
  // measured then paid for that; 23-60 ms at most in the four runs with it, too few to show it prevents
  // such a stall (docs/benchmarks.md, thirty-eighth session). Outside the measured time, for the
  // baseline alike.
  fullGc();

  // Steady phase: RATE events/s. The load generator's own event-loop delay is recorded too: a stall of
  // this process (its collector, after the 10,000-socket runs) adds to every latency it measures.
  recorder.latencies = [];
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const steady = Array.from({ length: EVENTS }, (_, i) => i);
  const cpu0 = cpuMsOf(target.pid);
  for (const seq of steady) {
    await target.publish(`${seq}:${now()}`);
    await sleep(1000 / RATE);
  }
  const steadyOk = await recorder.waitFor(steady, N, 30_000);
  // Each steady event's slowest delivery, read now (a late one during the burst is not counted here,
  // as in the latencies); null for an event nobody received.
  const slowestPerEventMs = steady.map((seq) => {
    const ms = recorder.slowestBySeq[seq];
    return ms === undefined ? null : Math.round(ms);
  });
  // The server's CPU time per delivery over the steady phase (ticks of 10 ms over seconds of work):
  // steadier from run to run than the latency, which the load generator's share of the cores moves.
  const serverCpuUsPerDelivery = ((cpuMsOf(target.pid) - cpu0) * 1000) / (N * EVENTS);
  const steadyLatency = summarize(recorder.latencies);
  // Shown beside the goal's figure, not instead of it: the first event after the idle spell is the
  // slowest in most runs, the bare relay's too (docs/benchmarks.md, thirteenth session).
  const afterFirstLatency = summarize(recorder.latenciesAfterFirst);
  loop.disable();
  const clientLoopP99Ms = loop.percentile(99) / 1e6;
  // The longest single stall too: one of 200 ms is a single sample of the histogram, below its p99.
  const clientLoopMaxMs = loop.max / 1e6;

  // Burst phase: BURST events back to back; deliveries per second until all arrive.
  recorder.latencies = [];
  const burst = Array.from({ length: BURST }, (_, i) => BURST_SEQ + i);
  const t0 = now();
  await Promise.all(burst.map((seq) => target.publish(`${seq}:${now()}`)));
  const burstOk = await recorder.waitFor(burst, N, 60_000);
  const burstSec = (now() - t0) / 1000;
  const burstLatency = summarize(recorder.latencies);
  const rssAfter = rssOf(target.pid);
  for (const close of closers) close();
  await target.stop();
  return {
    target: target.name,
    clients: N,
    connectSec,
    steady: {
      events: EVENTS,
      ratePerSec: RATE,
      deliveriesPerSec: N * RATE,
      complete: steadyOk,
      latencyMs: steadyLatency,
      latencyAfterFirstEventMs: afterFirstLatency,
      clientLoopDelayP99Ms: clientLoopP99Ms,
      clientLoopDelayMaxMs: clientLoopMaxMs,
      slowestDeliveryPerEventMs: slowestPerEventMs,
      serverCpuUsPerDelivery,
    },
    burst: {
      events: BURST,
      complete: burstOk,
      seconds: burstSec,
      deliveriesPerSec: (N * BURST) / burstSec,
      latencyMs: burstLatency,
    },
    serverMemory: {
      connectedRssMiB: rssConnected.rssMiB,
      idleRssMiB: rssIdle.rssMiB,
      afterRssMiB: rssAfter.rssMiB,
      peakRssMiB: rssAfter.peakMiB,
    },
  };
}

async function waitAll(recorder: Recorder, attempt: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let total = 0;
    for (let a = 0; a <= attempt; a++) total = Math.max(total, recorder.received.get(-1 - a) ?? 0);
    if (total >= recorder.clients) return true;
    await sleep(10);
  }
  return false;
}

/** `viewers`: 'one' (every socket the same account: shared) or a count of distinct viewers (unshared). */
async function dawgTarget(viewers: 'one' | number): Promise<Target> {
  // BENCH_SERVER_NODE_ARGS adds node options after the api's own: e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  // to profile the api under load, or "--min-semi-space-size=0" to run it without API_NODE_ARGS' floor.
  // With one account every socket is its (sharing is per viewer), so lift the per-user socket limit.
  const api = await startBenchApi(
    { WS_MAX_SOCKETS_PER_USER: '10000' },
    process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean),
  );
  const { prefix } = api;
  const graphqlUrl = api.url;
  const call = async (query: string, token?: string) =>
    (await api.gql(query, {}, token)).data as Record<string, Record<string, string>>;
  const signUp = await call(
    `mutation { signUp(email: "bench-${randomBytes(4).toString('hex')}@example.test", password: "benchmark pw") { token } }`,
  );
  const token = signUp.signUp?.token as string;
  const project = await call('mutation { createProject(name: "bench") { id } }', token);
  const conversation = await call(
    `mutation { createConversation(title: "bench", projectId: "${project.createProject?.id}") { id } }`,
    token,
  );
  // Unshared: the other viewers are members of the conversation's project, made in SQL with tokens
  // signed by the api's own secret (a sign-up each would hash a password 2,000 times).
  const tokens = viewers === 'one' ? [token] : [token, ...(await members(api, project.createProject?.id as string, viewers - 1))];
  let nextToken = 0;
  const conversationGlobalId = conversation.createConversation?.id as string;
  const conversationId = Buffer.from(conversationGlobalId, 'base64').toString().split(':')[1] as string;
  const SUBSCRIPTION = `subscription { messageAdded(conversationId: "${conversationGlobalId}") { id role content status intent createdAt } }`;
  const publisher = new Redis(REDIS_URL);
  const subscriber = publisher.duplicate();
  const pubsub = new PubSub(publisher, subscriber, prefix);
  const template: Message = {
    id: '00000000-0000-4000-8000-000000000000',
    conversationId,
    userId: null,
    role: 'ASSISTANT',
    content: '',
    status: 'COMPLETE',
    intent: 'GENERATE_BEAT',
    entities: { genre: 'lofi', bpm: 90, key: 'A minor', mood: 'mellow', durationSec: 30 },
    generationId: null,
    provider: 'local',
    model: 'local-template',
    promptTokens: 12,
    completionTokens: 40,
    cost: 0 as unknown as Message['cost'],
    error: null,
    createdAt: new Date(),
  };
  const name = viewers === 'one' ? 'dawg (graphql-ws + Pothos + Redis)' : `dawg, ${viewers} viewers (unshared)`;
  return {
    name,
    pid: api.pid,
    // The graphql-transport-ws protocol spoken directly over `ws`, so the client side costs
    // what the baseline's does (one JSON.parse per message) and the comparison measures the server.
    connect: (onContent) =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(graphqlUrl.replace('http', 'ws'), 'graphql-transport-ws');
        socket.once('open', () =>
          socket.send(
            JSON.stringify({
              type: 'connection_init',
              payload: { authorization: `Bearer ${tokens[nextToken++ % tokens.length]}` },
            }),
          ),
        );
        socket.on('message', (data) => {
          const message = JSON.parse(data.toString());
          if (message.type === 'next') onContent(message.payload.data.messageAdded.content);
          else if (message.type === 'ping') socket.send('{"type":"pong"}');
          else if (message.type === 'connection_ack') {
            socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIPTION } }));
            resolve(() => socket.terminate());
          }
        });
        socket.once('error', reject);
        socket.once('close', (code) => reject(new Error(`socket closed ${code}`)));
      }),
    publish: (content) => pubsub.publish('messageAdded', conversationId, { conversationId, message: { ...template, content } }),
    async stop() {
      // The api's heap trims during the run (src/heap-trim.ts), as it logged them.
      for (const line of api.takeOutput().split('\n')) {
        if (!line.includes('heap trimmed')) continue;
        const { heapBeforeMiB, heapAfterMiB, rssMiB, pauseMs } = JSON.parse(line);
        console.log(`${name}: heap trimmed ${heapBeforeMiB} -> ${heapAfterMiB} MiB (RSS ${rssMiB} MiB), pause ${pauseMs} ms`);
      }
      await api.stop();
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}

/** `count` users in SQL, members (VIEWER) of `projectGlobalId`, and a token for each. */
async function members(
  api: Awaited<ReturnType<typeof startBenchApi>>,
  projectGlobalId: string,
  count: number,
): Promise<string[]> {
  const projectId = Buffer.from(projectGlobalId, 'base64').toString().split(':')[1] as string;
  const db = new pg.Client({ connectionString: api.databaseUrl });
  await db.connect();
  const run = randomBytes(4).toString('hex');
  const { rows } = await db.query(
    `INSERT INTO users (id, email, password_hash, updated_at)
     SELECT gen_random_uuid(), 'viewer-' || i || '-' || $2 || '@example.test', 'not a hash: no login', now()
     FROM generate_series(1, $1::int) i RETURNING id`,
    [count, run],
  );
  await db.query(`INSERT INTO project_members (project_id, user_id, role) SELECT $1, u, 'VIEWER' FROM unnest($2::uuid[]) u`, [
    projectId,
    rows.map((r) => r.id),
  ]);
  await db.end();
  const signer = new TokenService(api.env.JWT_SECRET as string, 3600);
  return Promise.all(rows.map((r) => signer.sign({ id: r.id as string, role: 'USER' })));
}

async function bareTarget(): Promise<Target> {
  const channel = `dawg-bench-bare-${randomBytes(4).toString('hex')}`;
  // On the same Node with the api's node options, so the baseline's collector is set up as the api's.
  const server = await spawnTs('scripts/bench/bare-ws-server.mjs', { REDIS_URL, BENCH_CHANNEL: channel }, /listening on (\d+)/, {
    tsx: false,
    nodeArgs: API_NODE_ARGS,
  });
  const port = Number(server.match[1]);
  const publisher = new Redis(REDIS_URL);
  // The same bytes dawg relays, wrapped the way graphql-ws wraps a result.
  const frame = (content: string) =>
    JSON.stringify({
      id: '1',
      type: 'next',
      payload: {
        data: {
          messageAdded: {
            id: 'TWVzc2FnZTowMDAw',
            role: 'ASSISTANT',
            content,
            status: 'COMPLETE',
            intent: 'GENERATE_BEAT',
            createdAt: new Date().toISOString(),
          },
        },
      },
    });
  return {
    name: 'baseline (bare ws + Redis)',
    pid: server.child.pid as number,
    connect: (onContent) =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}`);
        socket.on('message', (data) => onContent(JSON.parse(data.toString()).payload.data.messageAdded.content));
        socket.once('open', () => resolve(() => socket.terminate()));
        socket.once('error', reject);
      }),
    publish: async (content) => void (await publisher.publish(channel, frame(content))),
    async stop() {
      await server.stop();
      publisher.disconnect();
    },
  };
}

type Result = Awaited<ReturnType<typeof run>>;
const probe = await machineSpeed();
const scales: { baseline: Result; dawg: Result }[] = [];
for (const n of COUNTS) scales.push({ baseline: await run(await bareTarget(), n), dawg: await run(await dawgTarget('one'), n) });
const unshared = UNSHARED > 0 ? await run(await dawgTarget(UNSHARED), UNSHARED) : null;

/** Median and max over the steady events of each one's slowest delivery, and how many were received when not all. */
function slowestPerEvent(r: Result) {
  const received = r.steady.slowestDeliveryPerEventMs.filter((ms): ms is number => ms !== null);
  if (received.length === 0) return 'none received';
  const { p50, max } = summarize(received);
  const events = r.steady.slowestDeliveryPerEventMs.length;
  return `${p50.toFixed(0)} / ${max.toFixed(0)}${received.length < events ? ` (${received.length} of ${events} events)` : ''}`;
}

const rows = [...scales.flatMap((s) => [s.baseline, s.dawg]), ...(unshared ? [unshared] : [])].map((r) => ({
  target: r.target,
  clients: r.clients,
  'steady p50 ms': r.steady.latencyMs.p50.toFixed(1),
  'steady p99 ms': r.steady.latencyMs.p99.toFixed(1),
  'steady p99 ms, first event left out': r.steady.latencyAfterFirstEventMs.p99.toFixed(1),
  'steady deliveries/s': r.steady.deliveriesPerSec,
  'client loop delay p99 / max ms': `${r.steady.clientLoopDelayP99Ms.toFixed(0)} / ${r.steady.clientLoopDelayMaxMs.toFixed(0)}`,
  "each event's slowest delivery, median / max ms": slowestPerEvent(r),
  'server CPU µs/delivery': r.steady.serverCpuUsPerDelivery.toFixed(1),
  'burst deliveries/s': Math.round(r.burst.deliveriesPerSec),
  'burst p99 ms': r.burst.latencyMs.p99.toFixed(0),
  'server RSS MiB connected / idle / after (peak)': `${r.serverMemory.connectedRssMiB} / ${r.serverMemory.idleRssMiB} / ${r.serverMemory.afterRssMiB} (${r.serverMemory.peakRssMiB})`,
}));
console.log(table(rows));
const { speed, line: speedLine } = await probe.after();
console.log(`\n${speedLine}`);
const metOrNot = (ok: boolean) => (ok ? 'met' : 'NOT met');
const complete = (r: Result) => r.steady.complete && r.burst.complete;
const goals: Record<string, boolean> = {};
const ratios = scales.map(({ baseline, dawg }) => {
  const r = {
    clients: dawg.clients,
    steadyP99VsBaseline: dawg.steady.latencyMs.p99 / baseline.steady.latencyMs.p99,
    burstThroughputVsBaseline: dawg.burst.deliveriesPerSec / baseline.burst.deliveriesPerSec,
    rssVsBaseline: dawg.serverMemory.afterRssMiB / baseline.serverMemory.afterRssMiB,
  };
  console.log(
    `\n${dawg.clients} sockets, dawg / baseline: steady p99 ×${r.steadyP99VsBaseline.toFixed(2)}, burst throughput ×${r.burstThroughputVsBaseline.toFixed(2)}, RSS ×${r.rssVsBaseline.toFixed(2)}; every event reached every socket: ${metOrNot(complete(dawg))}`,
  );
  if (dawg.clients === 10_000) {
    goals.p99 = complete(dawg) && r.steadyP99VsBaseline <= 2;
    goals.burst = r.burstThroughputVsBaseline >= 0.7;
    goals.rss = r.rssVsBaseline <= 3;
    goals.idleRss = dawg.serverMemory.idleRssMiB <= 300;
    console.log(`goal: 10,000 sockets, steady p99 ≤ 2× baseline (×${r.steadyP99VsBaseline.toFixed(2)}): ${metOrNot(goals.p99)}`);
    console.log(
      `goal: 10,000 sockets, burst ≥ 0.7× baseline (×${r.burstThroughputVsBaseline.toFixed(2)}): ${metOrNot(goals.burst)}`,
    );
    console.log(`goal: 10,000 sockets, RSS ≤ 3× baseline (×${r.rssVsBaseline.toFixed(2)}): ${metOrNot(goals.rss)}`);
    console.log(`goal: 10,000 idle sockets ≤ 300 MiB (${dawg.serverMemory.idleRssMiB} MiB): ${metOrNot(goals.idleRss)}`);
  }
  return r;
});
if (unshared) {
  goals.unshared = complete(unshared) && unshared.steady.deliveriesPerSec >= 10_000 && unshared.steady.latencyMs.p99 <= 150;
  console.log(
    `goal: ${unshared.clients} viewers unshared, ≥ 10,000 deliveries/s with p99 ≤ 150 ms (${unshared.steady.deliveriesPerSec}/s, p99 ${unshared.steady.latencyMs.p99.toFixed(1)} ms; ${unshared.steady.latencyAfterFirstEventMs.p99.toFixed(1)} ms with the first event after the idle spell left out, not what the goal counts): ${metOrNot(goals.unshared)}`,
  );
}
console.log(
  `wrote ${await writeResult('subscriptions', { params: { clients: COUNTS, unshared: UNSHARED, events: EVENTS, rate: RATE, burst: BURST }, goals, pass: Object.values(goals).every(Boolean), ratios, results: { scales, unshared }, speed })}`,
);
process.exit(0);
