/**
 * Subscriptions cannot leak: whatever a client sends, every Redis subscription an operation took is
 * released (Redis's own channel count and graphql-redis-subscriptions' listener count return to
 * their start value), and api memory stays flat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, type RunningApp, signUp, startApp, type TestUser, until, rawId } from '../helpers/harness.js';
import { channelCounts, closeSocket, initSocket, isolatedPrefix, ownRssMb, type RawMessage } from '../helpers/ws.js';

const prefix = isolatedPrefix();
let api: RunningApp;
let alice: TestUser;
let bob: TestUser;
const ids: Record<string, string> = {};
let start: Awaited<ReturnType<typeof channelCounts>>;

const counts = () => channelCounts(api.app, prefix);

/**
 * Waits for the counts to come back to where they started (they are released asynchronously), then
 * checks they stay there: a setup still in flight must not take a subscription afterwards.
 */
async function backToStart(timeoutMs = 5_000) {
  await until(async () => JSON.stringify(await counts()) === JSON.stringify(start), timeoutMs).catch(() => {});
  for (const deadline = Date.now() + 300; Date.now() < deadline; ) expect(await counts()).toEqual(start);
}

const CHAT =
  'subscription($c: ID!, $f: Int, $m: ID) { chatStream(conversationId: $c, fromIndex: $f, messageId: $m) { index done } }';
const ADDED = 'subscription($c: ID!) { messageAdded(conversationId: $c) { id } }';
const PROJECT = 'subscription($p: ID!) { projectUpdated(projectId: $p) { id } }';
const PROGRESS = 'subscription($id: ID!) { generationProgress(id: $id) { percent } }';
const MINE = 'subscription { myGenerations { percent } }';

async function conversationWithMessage(user: TestUser) {
  const c = (await gql(api.graphqlUrl, 'mutation { createConversation(title: "leak") { id } }', {}, user.token)).data
    .createConversation.id as string;
  const m = await api.app.prisma.message.create({ data: { conversationId: rawId(c), role: 'ASSISTANT', content: 'hi' } });
  return { c, m: m.id };
}

beforeAll(async () => {
  api = await startApp({ REDIS_PREFIX: prefix, CHAT_CHUNK_DELAY_MS: '0', CHAT_FRAME_MS: '0' });
  [alice, bob] = await Promise.all([signUp(api.graphqlUrl), signUp(api.graphqlUrl)]);
  const [a1, a2, b1] = await Promise.all([
    conversationWithMessage(alice),
    conversationWithMessage(alice),
    conversationWithMessage(bob),
  ]);
  Object.assign(ids, { a1: a1.c, a1m: a1.m, a2: a2.c, a2m: a2.m, b1: b1.c, b1m: b1.m });
  ids.project = (
    await gql(api.graphqlUrl, 'mutation { createProject(name: "p", bpm: 90) { id } }', {}, alice.token)
  ).data.createProject.id;
  ids.bobProject = (
    await gql(api.graphqlUrl, 'mutation { createProject(name: "p", bpm: 90) { id } }', {}, bob.token)
  ).data.createProject.id;
  start = await counts();
});
afterAll(() => api?.stop());

/**
 * The code of a refused subscription: graphql-ws sends a failed subscribe as `error` (validation)
 * or as one `next` carrying only errors (the field's subscribe threw), then `complete`.
 */
function errorCode(m: RawMessage): string | undefined {
  type Errors = { extensions?: { code?: string } }[];
  if (m.type === 'error') return (m.payload as Errors)[0]?.extensions?.code;
  const payload = m.payload as { data?: unknown; errors?: Errors };
  return payload.data ? undefined : payload.errors?.[0]?.extensions?.code;
}

/** Bad subscriptions of every kind, each with the code it must get. */
function badSubscriptions(): { query: string; variables: Record<string, unknown>; code: string }[] {
  return [
    { query: CHAT, variables: { c: 'not-an-id' }, code: 'BAD_USER_INPUT' },
    { query: CHAT, variables: { c: ids.b1 }, code: 'NOT_FOUND' },
    // A message of another conversation of the same user: its chunks must not be replayed here.
    { query: CHAT, variables: { c: ids.a1, f: 0, m: ids.a2m }, code: 'NOT_FOUND' },
    { query: CHAT, variables: { c: ids.a1, m: ids.b1m }, code: 'NOT_FOUND' },
    { query: CHAT, variables: { c: ids.a1, f: 0, m: 'garbage' }, code: 'BAD_USER_INPUT' },
    { query: CHAT, variables: { c: ids.a1, f: -1 }, code: 'BAD_USER_INPUT' },
    { query: ADDED, variables: { c: ids.b1 }, code: 'NOT_FOUND' },
    { query: ADDED, variables: { c: ids.project }, code: 'BAD_USER_INPUT' },
    { query: PROJECT, variables: { p: ids.bobProject }, code: 'NOT_FOUND' },
    { query: PROGRESS, variables: { id: '00000000-0000-4000-8000-000000000000' }, code: 'NOT_FOUND' },
  ];
}

describe('bad subscriptions', () => {
  it('1,000 invalid, foreign and mismatched subscriptions all error and release everything; RSS stays flat', async () => {
    const kinds = badSubscriptions();
    const round = async (n: number) => {
      // 20 sockets x 50: under the per-socket limit, so each gets its own error, not RATE_LIMITED.
      const sockets = await Promise.all(Array.from({ length: 20 }, () => initSocket(api.wsUrl, alice.token)));
      const perSocket = n / sockets.length;
      const results: { want: string; got: RawMessage }[] = [];
      await Promise.all(
        sockets.map(async (s, si) => {
          for (let i = 0; i < perSocket; i++) {
            const kind = kinds[(si * perSocket + i) % kinds.length] as (typeof kinds)[number];
            s.send({ id: String(i), type: 'subscribe', payload: { query: kind.query, variables: kind.variables } });
          }
          for (let i = 0; i < perSocket; i++) {
            const kind = kinds[(si * perSocket + i) % kinds.length] as (typeof kinds)[number];
            const got = await s.next((m) => m.id === String(i) && (m.type === 'error' || m.type === 'next'), 15_000);
            results.push({ want: kind.code, got });
          }
        }),
      );
      await Promise.all(sockets.map(closeSocket));
      return results;
    };
    // Warm-up at full size: code paths loaded, pools filled, the heap grown to what a round needs; a
    // leak then shows as growth from one round to the next.
    await round(1000);
    await backToStart();
    const before = ownRssMb();
    const results = await round(1000);
    expect(results).toHaveLength(1000);
    const wrong = results.filter(({ want, got }) => errorCode(got) !== want);
    expect(wrong.slice(0, 3)).toEqual([]);
    await backToStart();
    const after = ownRssMb();
    // The api runs in this process, so the clients' memory is counted too: flat within 10 %.
    expect(after).toBeLessThan(before * 1.1);
  }, 60_000);
});

describe('every path releases the Redis subscription', () => {
  it.each([
    ['chatStream', CHAT, () => ({ c: ids.a1 })],
    ['chatStream replaying (fromIndex)', CHAT, () => ({ c: ids.a1, f: 0, m: ids.a1m })],
    ['messageAdded', ADDED, () => ({ c: ids.a1 })],
    ['projectUpdated', PROJECT, () => ({ p: ids.project })],
    ['myGenerations', MINE, () => ({})],
  ])('%s: complete releases it at once, with no further event on the channel', async (_name, query, variables) => {
    const s = await initSocket(api.wsUrl, alice.token);
    s.send({ id: 'a', type: 'subscribe', payload: { query, variables: variables() } });
    await until(async () => (await counts()).listeners > start.listeners);
    s.send({ id: 'a', type: 'complete' });
    await backToStart();
    s.socket.close();
    await s.closed;
  });

  it('closing the socket releases every subscription on it', async () => {
    const s = await initSocket(api.wsUrl, alice.token);
    for (const [i, c] of [ids.a1, ids.a2].entries())
      s.send({ id: `s${i}`, type: 'subscribe', payload: { query: ADDED, variables: { c } } });
    s.send({ id: 'p', type: 'subscribe', payload: { query: PROJECT, variables: { p: ids.project } } });
    await until(async () => (await counts()).listeners >= start.listeners + 3);
    s.socket.terminate();
    await backToStart();
  });

  it('an unsubscribe storm (subscribe + complete on one id, 300 times) leaves nothing running', async () => {
    const s = await initSocket(api.wsUrl, alice.token);
    for (let i = 0; i < 300; i++) {
      s.send({ id: 'storm', type: 'subscribe', payload: { query: CHAT, variables: { c: ids.a1 } } });
      s.send({ id: 'storm', type: 'complete' });
    }
    // The socket is still open: the last message was a complete, so nothing may be live.
    await new Promise((r) => setTimeout(r, 500));
    await backToStart(10_000);
    s.socket.close();
    await s.closed;
    await backToStart();
  });

  it('a storm then an abrupt close leaves nothing running either', async () => {
    const s = await initSocket(api.wsUrl, alice.token);
    for (let i = 0; i < 300; i++) {
      s.send({ id: 'storm', type: 'subscribe', payload: { query: ADDED, variables: { c: ids.a1 } } });
      s.send({ id: 'storm', type: 'complete' });
      s.send({ id: `live${i % 20}`, type: 'complete' });
    }
    s.socket.terminate();
    await backToStart(10_000);
  });

  it('subscribe + complete under ever new ids: setups in flight are bounded (4429) and nothing stays', async () => {
    const s = await initSocket(api.wsUrl, alice.token);
    for (let i = 0; i < 2_000 && s.socket.readyState === s.socket.OPEN; i++) {
      s.send({ id: `new${i}`, type: 'subscribe', payload: { query: ADDED, variables: { c: ids.a1 } } });
      s.send({ id: `new${i}`, type: 'complete' });
    }
    expect(await s.closed).toBe(4429);
    await backToStart(10_000);
  });

  it('setups still in flight when their socket closes take no subscription afterwards', async () => {
    // Paced so that the server keeps up (no 4429), then closed by the client with setups under way.
    const closedByClient: number[] = [];
    for (let round = 0; round < 6; round++) {
      const s = await initSocket(api.wsUrl, alice.token);
      for (let i = 0; i < 300; i++) {
        s.send({ id: `new${i}`, type: 'subscribe', payload: { query: ADDED, variables: { c: ids.a1 } } });
        s.send({ id: `new${i}`, type: 'complete' });
        if (i % 7 === 0) await new Promise((r) => setImmediate(r));
      }
      // The client's close (no status: 1005), not the server's refusal (4429).
      if ((await closeSocket(s)) !== 4429) closedByClient.push(round);
      await backToStart(10_000);
    }
    expect(closedByClient.length).toBeGreaterThan(0);
  });

  it('subscribe then complete during the setup: nothing stays, and nothing comes back for those ids', async () => {
    const s = await initSocket(api.wsUrl, alice.token);
    // Each complete a little after its subscribe (0-3 ms): some land while the setup runs.
    for (let i = 0; i < 200; i++) {
      s.send({ id: `done${i}`, type: 'subscribe', payload: { query: CHAT, variables: { c: ids.a1 } } });
      await new Promise((r) => setTimeout(r, i % 4));
      s.send({ id: `done${i}`, type: 'complete' });
    }
    // Still open: the complete of each reached it while its setup ran.
    await backToStart(10_000);
    expect(s.socket.readyState).toBe(s.socket.OPEN);
    // Nothing comes back for an operation the client completed (a `complete` from the server would
    // end a later operation of the client's under the same id).
    const after = s.messages.filter((m) => typeof m.id === 'string' && m.id.startsWith('done'));
    expect(after.filter((m) => m.type !== 'error')).toEqual([]);
    await closeSocket(s);
  });

  it('stopping the server releases every subscription', async () => {
    const other = await startApp({ REDIS_PREFIX: prefix });
    const s = await initSocket(other.wsUrl, alice.token);
    s.send({ id: 'a', type: 'subscribe', payload: { query: ADDED, variables: { c: ids.a1 } } });
    await until(async () => other.app.services.pubsub.stats().listeners === 1);
    await other.stop();
    expect(other.app.services.pubsub.stats()).toEqual({ channels: 0, listeners: 0 });
    expect(await s.closed).toBe(1001);
  });
});
