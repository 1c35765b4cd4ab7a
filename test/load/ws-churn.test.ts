/**
 * Socket churn (issue 16, item 6): "2,000 + 4,000 sockets opened and closed in cycles took RSS from
 * 591.9 to 613.0 MB in steps of about 5 MB per cycle ... RSS must be flat (±5 %) after 10 cycles."
 * Here ten cycles alternate 2,000 and 4,000 sockets (CHURN_CYCLES), each opened (with its own token),
 * subscribed and closed. The api runs in its own process, so its RSS is its own, not the client
 * sockets' of this one; it is read after a full GC (test/helpers/gc-on-signal.mjs): flat within 5 %
 * after the warm-up cycles, the heap growing by less than 300 bytes a socket (a leak of about 500
 * bytes a socket, put in on purpose, read 572 and failed; the api as it is reads about 0), and nothing
 * (sockets, Redis channels, shared streams) left behind. The ten cycles (30,000 sockets) took 57 s on two shared cores, hence the long timeout
 * under a full suite. Batches of 250: batches of 500 are faster but their larger peaks grow the
 * allocator's arenas past the 5 % from cycle to cycle.
 * What grew before: an unref()'d per-socket timer of a unique delay (the token expiry) left one Node
 * TimersList per closed socket until that delay passed (see transport/graphql-ws.ts, armExpiry).
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gql, signUp, type TestUser, testConfig, until, rawId } from '../helpers/harness.js';
import { type ApiProcess, GC_ON_SIGNAL, gcNow, spawnApi } from '../helpers/process.js';
import { closeSocket, initSocket, isolatedPrefix, type RawSocket, rssMbOf } from '../helpers/ws.js';

/** Sockets per cycle, in turn: the two sizes. */
const SIZES = [2000, 4000];
const CYCLES = Number(process.env.CHURN_CYCLES ?? 10);
const BATCH = 250;
/** Sockets opened in a cycle, on average. */
const MEAN_SOCKETS = SIZES.reduce((a, b) => a + b, 0) / SIZES.length;
/** The heap's growth per socket opened, after the warm-up, that counts as a leak. */
const LEAK_BYTES_PER_SOCKET = 300;

/** The least-squares slope of `ys` against 0, 1, 2, … */
function slope(ys: number[]): number {
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}
const prefix = isolatedPrefix();
let api: ApiProcess;
let redis: Redis;
let alice: TestUser;
let conversationId: string;

beforeAll(async () => {
  api = await spawnApi({ REDIS_PREFIX: prefix, WS_MAX_SOCKETS_PER_USER: String(Math.max(...SIZES) + 10) }, 30_000, GC_ON_SIGNAL);
  redis = new Redis(testConfig().REDIS_URL);
  alice = await signUp(api.graphqlUrl);
  conversationId = (await gql(api.graphqlUrl, 'mutation { createConversation(title: "churn") { id } }', {}, alice.token)).data
    .createConversation.id;
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await api?.kill('SIGTERM');
});

const metric = async (name: string) =>
  Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${api.url}/metrics`)).text())?.[1]);

/** A fresh token for alice (a new jti): the api verifies and caches each one. */
function freshToken() {
  const userId = rawId(alice.id);
  return new SignJWT({ role: 'USER' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setJti(randomUUID())
    .setIssuer('dawg')
    .setAudience('dawg-api')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(testConfig().JWT_SECRET));
}

async function cycle(size: number) {
  const subscribed = await metric('dawg_ws_subscriptions_total');
  const sockets: RawSocket[] = [];
  for (let i = 0; i < size; i += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, size - i) }, async () => initSocket(api.wsUrl, await freshToken())),
    );
    for (const s of batch) {
      s.send({
        id: 'm',
        type: 'subscribe',
        payload: { query: 'subscription($c: ID!) { messageAdded(conversationId: $c) { id } }', variables: { c: conversationId } },
      });
      s.send({ id: 'g', type: 'subscribe', payload: { query: 'subscription { myGenerations { percent } }' } });
    }
    sockets.push(...batch);
  }
  // Every subscribe is accepted (counted) before its socket closes.
  await until(async () => (await metric('dawg_ws_subscriptions_total')) >= subscribed + 2 * size, 20_000);
  for (let i = 0; i < sockets.length; i += BATCH) await Promise.all(sockets.slice(i, i + BATCH).map(closeSocket));
  await until(async () => (await metric('dawg_ws_connections')) === 0, 15_000);
}

it(`${SIZES.join(' and ')} sockets in turn x ${CYCLES} cycles: api RSS flat within 5 % after warm-up, the heap's trend under ${LEAK_BYTES_PER_SOCKET} bytes a socket, nothing left behind`, async () => {
  const pid = api.child.pid as number;
  const rss: number[] = [];
  const heap: number[] = [];
  const started = Date.now();
  for (let c = 0; c < CYCLES; c++) {
    await cycle(SIZES[c % SIZES.length] as number);
    // What survives a full GC, read twice with a GC before each, the lower read kept:
    // - the heap: whatever the api allocates between one GC and the read (a keep-alive round, the
    //   scrape itself) is not retained memory; a single read once came out 8 MB above its neighbours
    //   (83 between 75s) in a clean-clone run;
    // - the RSS: V8 gives back the pages a cycle's peak grew its heap by only at the GC after next
    //   (heap total 183-218 MB after the first GC, 121-134 after the second, the RSS following it),
    //   so one read after one GC swung 347-452 MB with no trend and failed a clean-clone run.
    const heapMb = async () => (await metric('dawg_nodejs_heap_size_used_bytes')) / 1024 / 1024;
    await gcNow(pid);
    const first = { rss: rssMbOf(pid), heap: await heapMb() };
    await gcNow(pid);
    rss.push(Math.min(first.rss, rssMbOf(pid)));
    heap.push(Math.min(first.heap, await heapMb()));
  }
  const seconds = (Date.now() - started) / 1000;
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
  // The heap's trend after the warm-up (cycles 4 to 10, 21,000 sockets), per socket opened.
  const bytesPerSocket = (slope(heap.slice(3)) * 1024 * 1024) / MEAN_SOCKETS;
  console.info(
    `churn: ${CYCLES} cycles of ${SIZES.join(' and ')} sockets in turn in ${seconds.toFixed(1)} s; api RSS MB ${fmt(rss)}; heap MB ${fmt(heap)}; ` +
      `heap trend after the warm-up ${bytesPerSocket.toFixed(0)} bytes per socket`,
  );
  // Warm-up: code paths, pools, and the verified-token cache (10,000 entries; 2,000 and 4,000 fresh
  // tokens a cycle) full during the fourth cycle. The warm window (cycles 3 to 5) holds both sizes.
  // The RSS, as the issue asks: within 5 % of the warm window in every later cycle.
  const after = (xs: number[]) => Math.max(...xs.slice(5));
  const warm = (xs: number[]) => Math.max(...xs.slice(2, 5));
  expect(after(rss)).toBeLessThanOrEqual(warm(rss) * 1.05);
  // The heap (about 60 MB): what is kept per socket grows it in every cycle, so the trend after the
  // warm-up (a least-squares fit over cycles 4 to 10, 21,000 sockets) must stay under
  // LEAK_BYTES_PER_SOCKET, and the heap within 10 % of the warm window. The leak this test was written
  // for (a TimersList per closed socket) kept far more than that per socket. A single step of 2-4 MB,
  // flat before and after it, is not a trend: three clean-clone runs showed one (61 61 61 64 64 64,
  // 80 79 79 83 82 82, and 61 62 61 62 62 64 in the last cycle), its cause not found, and a check of
  // the last three cycles within 2 % failed on them.
  expect(bytesPerSocket).toBeLessThanOrEqual(LEAK_BYTES_PER_SOCKET);
  expect(after(heap)).toBeLessThanOrEqual(warm(heap) * 1.1);
  // Nothing but the api's own standing listener (projectAccessRevoked, one per process).
  expect(await redis.pubsub('CHANNELS', `${prefix}*`)).toEqual([`${prefix}project-access:revoked`]);
  expect(await metric('dawg_ws_shared_subscription_streams')).toBe(0);
  expect(await metric('dawg_ws_connections')).toBe(0);
}, 300_000);
