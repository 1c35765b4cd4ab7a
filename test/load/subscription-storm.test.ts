/**
 * Subscriptions are rate-limited (issue 16, item 4, as written): "10 sockets × 1,000 subscriptions =
 * 10,000 were accepted". Here one user opens 10 sockets and sends 1,000 subscribes on each, as fast
 * as they go out, to the api in its own process under today's default limits (the test environment
 * lifts the request limits for other files). At most RATE_LIMIT_PER_MINUTE are accepted; every other
 * subscribe is refused with RATE_LIMITED (an `error` message past WS_MAX_SUBSCRIPTIONS on a socket; a
 * `next` carrying the error, then `complete`, from the request limit); the sockets stay open; past
 * WS_MAX_SOCKETS_PER_USER a socket is closed with 4429; other users' queries are answered throughout.
 * Smaller cases: 300 subscribes on one socket (test/integration/rate-limit.test.ts), 1,000 on one
 * socket (ws-abuse.test.ts).
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.js';
import { gql, signUp, type TestUser, testConfig, testEnv, until } from '../helpers/harness.js';
import { SLOW_MS } from '../helpers/fuzz/report.js';
import { sample, scrape } from '../helpers/metrics.js';
import { type ApiProcess, spawnApi } from '../helpers/process.js';
import { closeSocket, initSocket, isolatedPrefix, type RawMessage, type RawSocket, rawSocket } from '../helpers/ws.js';

/** What the test environment lifts for other files; here each is back at its default. */
const LIFTED = [
  'RATE_LIMIT_PER_MINUTE',
  'GRAPHQL_COST_PER_MINUTE',
  'LOGIN_ATTEMPTS_PER_ACCOUNT',
  'LOGIN_ATTEMPTS_PER_IP',
  'SIGNUPS_PER_IP_PER_HOUR',
] as const;
const defaults = loadConfig(Object.fromEntries(Object.entries(testEnv()).filter(([k]) => !LIFTED.some((l) => l === k))));
const SOCKETS = 10;
const PER_SOCKET = 1000;
const ADDED = 'subscription($c: ID!) { messageAdded(conversationId: $c) { id } }';
/** Other users' queries, taking turns, so each stays well within its own request limit. */
const OTHERS = 3;
const PROBES_PER_OTHER = 80;

const prefix = isolatedPrefix();
let api: ApiProcess;
let redis: Redis;

beforeAll(async () => {
  api = await spawnApi({
    REDIS_PREFIX: prefix,
    ...Object.fromEntries(LIFTED.map((k) => [k, String(defaults[k])])),
    WS_MAX_SUBSCRIPTIONS: String(defaults.WS_MAX_SUBSCRIPTIONS),
    WS_MAX_SOCKETS_PER_USER: String(defaults.WS_MAX_SOCKETS_PER_USER),
  });
  redis = new Redis(testConfig().REDIS_URL);
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await api?.kill('SIGTERM');
});

const metric = async (name: string, labels: Record<string, string> = {}) => sample(await scrape(api.url), name, labels);

type Errors = { extensions?: { code?: string } }[];
/** The errors a subscribe was refused with: an `error` message, or a `next` whose result is errors. */
function refusal(m: RawMessage): Errors | null {
  if (m.type === 'error') return m.payload as Errors;
  return (m.type === 'next' && (m.payload as { errors?: Errors }).errors) || null;
}

/**
 * Sends `{ me { id } }` as the given users in turn, one at a time, from a worker thread. `run(n)`
 * resolves with the round-trip times of n queries, or of fewer if `stop()` comes first.
 */
function probeWorker(graphqlUrl: string, users: TestUser[]) {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData: { url, tokens, stop } } = require('node:worker_threads');
    let turn = 0;
    parentPort.on('message', async (n) => {
      Atomics.store(stop, 0, 0);
      const ms = [];
      while (ms.length < n && !Atomics.load(stop, 0)) {
        const started = performance.now();
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + tokens[turn++ % tokens.length] }, body: '{"query":"{ me { id } }"}' });
        const json = await res.json();
        if (json.errors || !json.data.me) throw new Error(JSON.stringify(json));
        ms.push(performance.now() - started);
      }
      parentPort.postMessage(ms);
    });`,
    { eval: true, workerData: { url: graphqlUrl, tokens: users.map((u) => u.token), stop } },
  );
  return {
    run: (n: number) =>
      new Promise<number[]>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage(n);
      }),
    stop: () => Atomics.store(stop, 0, 1),
    close: () => worker.terminate(),
  };
}

/** A process's user + system CPU time in ms (/proc: Linux, where the suite runs; clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * p) - 1] as number;

it('10 sockets x 1,000 subscribes of one user: at most RATE_LIMIT_PER_MINUTE accepted, the rest RATE_LIMITED on open sockets, other users answered', async () => {
  const { RATE_LIMIT_PER_MINUTE: perMinute, WS_MAX_SUBSCRIPTIONS: perSocket, WS_MAX_SOCKETS_PER_USER: maxSockets } = defaults;
  expect({ perMinute, perSocket, maxSockets }).toEqual({ perMinute: 100, perSocket: 100, maxSockets: 20 });
  const attacker = await signUp(api.graphqlUrl);
  const others = await Promise.all(Array.from({ length: OTHERS }, () => signUp(api.graphqlUrl)));
  const c = (await gql(api.graphqlUrl, 'mutation { createConversation { id } }', {}, attacker.token)).data.createConversation
    .id as string;
  const channelsBefore = ((await redis.pubsub('CHANNELS', `${prefix}*`)) as string[]).sort();
  const open = await Promise.all(Array.from({ length: SOCKETS }, () => initSocket(api.wsUrl, attacker.token)));

  // Other users' queries run in a worker thread, so their round trips are timed by a clock this
  // thread's work (sending 10,000 frames, reading 10,000 answers) does not hold up.
  const prober = probeWorker(api.graphqlUrl, others);
  const quiet = await prober.run(30);

  // createConversation was counted: the attacker has perMinute - 1 operations left this minute.
  const allowed = perMinute - 1;
  const refusals = () => open.flatMap((s) => s.messages.map(refusal).filter((e): e is Errors => e !== null));
  const probing = prober.run(OTHERS * PROBES_PER_OTHER - 40);
  const cpuBefore = cpuMsOf(api.child.pid as number);
  const started = performance.now();
  // Sent in turns of 100 frames per socket, so answers are read while the rest go out.
  for (let from = 0; from < PER_SOCKET; from += 100) {
    for (const s of open)
      for (let i = from; i < from + 100; i++)
        s.send({ id: String(i), type: 'subscribe', payload: { query: ADDED, variables: { c } } });
    await new Promise((r) => setImmediate(r));
  }
  await until(() => refusals().length >= SOCKETS * PER_SOCKET - allowed, 60_000);
  const stormMs = performance.now() - started;
  const stormCpuMs = cpuMsOf(api.child.pid as number) - cpuBefore;
  prober.stop();
  const storm = await probing;
  await new Promise((r) => setTimeout(r, 500)); // no more refusals than that arrive late

  const refused = refusals();
  const accepted = SOCKETS * PER_SOCKET - refused.length;
  console.info(
    `subscription storm: ${SOCKETS} x ${PER_SOCKET} subscribes answered in ${stormMs.toFixed(0)} ms (api CPU ${stormCpuMs.toFixed(0)} ms), ${accepted} accepted, ${refused.length} refused; ` +
      `other users' { me }: quiet p50 ${pct(quiet, 0.5).toFixed(0)} ms, max ${pct(quiet, 1).toFixed(0)} ms; ` +
      `during the storm ${storm.length} queries, p50 ${pct(storm, 0.5).toFixed(0)} ms, max ${pct(storm, 1).toFixed(0)} ms`,
  );
  expect(accepted).toBe(allowed);
  expect(accepted).toBeLessThanOrEqual(Math.min(perMinute, SOCKETS * perSocket));
  expect(new Set(refused.flatMap((errors) => errors.map((e) => e.extensions?.code)))).toEqual(new Set(['RATE_LIMITED']));
  // The accepted ones are streams set up, not answers still to come.
  await until(async () => (await metric('dawg_ws_active_subscriptions', { field: 'messageAdded' })) === accepted, 10_000);
  // A refused subscribe is an error result, not a close: every socket is still open.
  expect(open.map((s) => s.socket.readyState)).toEqual(open.map(() => WebSocket.OPEN));
  // Other users were answered throughout: each query within the fuzzer's bound for any answer (the
  // storm itself is ~0.5 s of the api's CPU, and a query sent during it waits for part of that: 0.4
  // to 0.9 s seen here), and after it as fast as before.
  expect(storm.length).toBeGreaterThan(0);
  expect(pct(storm, 1)).toBeLessThan(SLOW_MS);
  const after = await prober.run(10);
  await prober.close();
  expect(pct(after, 0.5)).toBeLessThan(Math.max(50, 3 * pct(quiet, 0.5)));

  // More sockets of the same user: up to WS_MAX_SOCKETS_PER_USER are let in; the next is closed with 4429.
  open.push(...(await Promise.all(Array.from({ length: maxSockets - SOCKETS }, () => initSocket(api.wsUrl, attacker.token)))));
  const extra: RawSocket = await rawSocket(api.wsUrl);
  extra.send({ type: 'connection_init', payload: { authorization: `Bearer ${attacker.token}` } });
  expect(await extra.closed).toBe(4429);

  // Closing the sockets releases everything.
  await Promise.all(open.map(closeSocket));
  await until(async () => (await metric('dawg_ws_connections')) === 0, 10_000);
  expect(await metric('dawg_ws_active_subscriptions', { field: 'messageAdded' })).toBe(0);
  const channels = async () => ((await redis.pubsub('CHANNELS', `${prefix}*`)) as string[]).sort();
  await until(async () => JSON.stringify(await channels()) === JSON.stringify(channelsBefore));
}, 90_000);
