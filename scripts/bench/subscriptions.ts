/**
 * `npm run bench:subscriptions [-- --clients 2000 --events 20 --rate 5 --burst 20]`
 *
 * N graphql-ws clients subscribe to one conversation's messageAdded on one api
 * process; events are published through Redis with the real PubSub module.
 * Measures delivery latency at a steady rate, deliveries/s in a burst, and the
 * server's RSS. Baseline in the same run: a bare ws server relaying the same
 * Redis channel to the same number of sockets.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import type { Message } from '../../src/generated/prisma/client.js';
import { PubSub } from '../../src/pubsub.js';
import { rssOf, spawnTs, startBenchApi, summarize, table, writeResult } from './lib.js';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '2000' },
    events: { type: 'string', default: '20' },
    rate: { type: 'string', default: '5' },
    burst: { type: 'string', default: '20' },
  },
});
const N = Number(args.clients);
const EVENTS = Number(args.events);
const RATE = Number(args.rate);
const BURST = Number(args.burst);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const now = () => performance.timeOrigin + performance.now();
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
  latencies: number[] = [];
  received = new Map<number, number>();
  onContent = (content: string) => {
    const [seqText, sentText] = content.split(':');
    const seq = Number(seqText);
    this.received.set(seq, (this.received.get(seq) ?? 0) + 1);
    if (seq >= 0) this.latencies.push(now() - Number(sentText));
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

async function run(target: Target) {
  const recorder = new Recorder();
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
  const rssIdle = rssOf(target.pid);

  // Steady phase: RATE events/s.
  recorder.latencies = [];
  const steady = Array.from({ length: EVENTS }, (_, i) => i);
  for (const seq of steady) {
    await target.publish(`${seq}:${now()}`);
    await sleep(1000 / RATE);
  }
  const steadyOk = await recorder.waitFor(steady, N, 30_000);
  const steadyLatency = summarize(recorder.latencies);

  // Burst phase: BURST events back to back; deliveries per second until all arrive.
  recorder.latencies = [];
  const burst = Array.from({ length: BURST }, (_, i) => 100_000 + i);
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
    steady: { events: EVENTS, ratePerSec: RATE, deliveriesPerSec: N * RATE, complete: steadyOk, latencyMs: steadyLatency },
    burst: {
      events: BURST,
      complete: burstOk,
      seconds: burstSec,
      deliveriesPerSec: (N * BURST) / burstSec,
      latencyMs: burstLatency,
    },
    serverMemory: { idleRssMiB: rssIdle.rssMiB, afterRssMiB: rssAfter.rssMiB, peakRssMiB: rssAfter.peakMiB },
  };
}

async function waitAll(recorder: Recorder, attempt: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let total = 0;
    for (let a = 0; a <= attempt; a++) total = Math.max(total, recorder.received.get(-1 - a) ?? 0);
    if (total >= N) return true;
    await sleep(10);
  }
  return false;
}

async function dawgTarget(): Promise<Target> {
  // e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the api under load.
  // Every socket uses one account (sharing is per viewer), so lift the per-user socket limit.
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
  const conversation = await call('mutation { createConversation(title: "bench") { id } }', token);
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
  return {
    name: 'dawg (graphql-ws + Pothos + Redis)',
    pid: api.pid,
    // The graphql-transport-ws protocol spoken directly over `ws`, so the client side costs
    // what the baseline's does (one JSON.parse per message) and the comparison measures the server.
    connect: (onContent) =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(graphqlUrl.replace('http', 'ws'), 'graphql-transport-ws');
        socket.once('open', () =>
          socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
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
      await api.stop();
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}

async function bareTarget(): Promise<Target> {
  const channel = `dawg-bench-bare-${randomBytes(4).toString('hex')}`;
  const server = await spawnTs('scripts/bench/bare-ws-server.ts', { REDIS_URL, BENCH_CHANNEL: channel }, /listening on (\d+)/);
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

const baseline = await run(await bareTarget());
const dawg = await run(await dawgTarget());
const rows = [baseline, dawg].map((r) => ({
  target: r.target,
  clients: r.clients,
  'steady p50 ms': r.steady.latencyMs.p50.toFixed(1),
  'steady p99 ms': r.steady.latencyMs.p99.toFixed(1),
  'steady deliveries/s': r.steady.deliveriesPerSec,
  'burst deliveries/s': Math.round(r.burst.deliveriesPerSec),
  'burst p99 ms': r.burst.latencyMs.p99.toFixed(0),
  'server RSS MiB (peak)': `${r.serverMemory.afterRssMiB} (${r.serverMemory.peakRssMiB})`,
}));
const ratios = {
  burstThroughputVsBaseline: dawg.burst.deliveriesPerSec / baseline.burst.deliveriesPerSec,
  steadyP99VsBaseline: dawg.steady.latencyMs.p99 / baseline.steady.latencyMs.p99,
};
console.log(table(rows));
console.log(
  `\ndawg / baseline: burst throughput ×${ratios.burstThroughputVsBaseline.toFixed(2)}, steady p99 ×${ratios.steadyP99VsBaseline.toFixed(2)}`,
);
const floors = { steadyP99Ms: 100, deliveriesPerSec: 10_000 };
const pass =
  dawg.steady.complete &&
  dawg.burst.complete &&
  dawg.steady.latencyMs.p99 <= floors.steadyP99Ms &&
  dawg.burst.deliveriesPerSec >= floors.deliveriesPerSec;
console.log(
  `floor (p99 ≤ ${floors.steadyP99Ms} ms at ${N * RATE}/s, ≥ ${floors.deliveriesPerSec} deliveries/s): ${pass ? 'met' : 'NOT met'}`,
);
console.log(
  `wrote ${await writeResult('subscriptions', { params: { clients: N, events: EVENTS, rate: RATE, burst: BURST }, floors, pass, ratios, results: [baseline, dawg] })}`,
);
process.exit(0);
