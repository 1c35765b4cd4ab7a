/**
 * graphql-ws abuse: protocol misuse, hostile frames, forged and expiring tokens, and the
 * per-socket and per-user limits. Close codes are documented in docs/api-guide.md.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { gql, type RunningApp, signUp, startApp, type TestUser, testConfig, until, rawId } from '../helpers/harness.js';
import {
  activeSubscriptions,
  channelCounts,
  closeSocket,
  initSocket,
  isolatedPrefix,
  type RawMessage,
  rawSocket,
} from '../helpers/ws.js';

const prefix = isolatedPrefix();
const env = {
  REDIS_PREFIX: prefix,
  WS_INIT_TIMEOUT_MS: '500',
  WS_MAX_SUBSCRIPTIONS: '100',
  WS_MAX_SOCKETS_PER_USER: '20',
  WS_MAX_BUFFERED_BYTES: '65536',
};
let api: RunningApp;
let alice: TestUser;
let start: Awaited<ReturnType<typeof channelCounts>>;

const ADDED = 'subscription($c: ID!) { messageAdded(conversationId: $c) { id content } }';
const counts = () => channelCounts(api.app, prefix);

beforeAll(async () => {
  api = await startApp(env);
  alice = await signUp(api.graphqlUrl);
  start = await counts();
});
afterAll(() => api?.stop());

async function conversationOf(user: TestUser) {
  return (await gql(api.graphqlUrl, 'mutation { createConversation(title: "abuse") { id } }', {}, user.token)).data
    .createConversation.id as string;
}

async function addMessage(conversationId: string, content: string) {
  const message = await api.app.prisma.message.create({ data: { conversationId: rawId(conversationId), role: 'USER', content } });
  await api.app.services.pubsub.publish('messageAdded', message.conversationId, {
    conversationId: message.conversationId,
    message,
  });
}

/** A token for `userId` signed with `secret`, expiring at `exp` (seconds since the epoch). */
function token(userId: string, exp: number, secret = testConfig(env).JWT_SECRET) {
  return new SignJWT({ role: 'USER' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuer('dawg')
    .setAudience('dawg-api')
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
}

async function stillServing() {
  const s = await initSocket(api.wsUrl, alice.token);
  s.send({ type: 'ping' });
  await s.next((m) => m.type === 'pong');
  s.socket.close();
  await s.closed;
}

describe('protocol misuse', () => {
  it('a subscribe before connection_init closes the socket with 4401', async () => {
    const s = await rawSocket(api.wsUrl);
    s.send({ id: '1', type: 'subscribe', payload: { query: ADDED, variables: { c: await conversationOf(alice) } } });
    expect(await s.closed).toBe(4401);
  });

  it('a socket that never sends connection_init is closed with 4408 after WS_INIT_TIMEOUT_MS', async () => {
    const s = await rawSocket(api.wsUrl);
    const opened = Date.now();
    expect(await s.closed).toBe(4408);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(400);
  });

  it('a second connection_init closes the socket with 4429', async () => {
    const s = await initSocket(api.wsUrl, alice.token);
    s.send({ type: 'connection_init', payload: { authorization: `Bearer ${alice.token}` } });
    expect(await s.closed).toBe(4429);
  });

  it('a mutation over graphql-ws is refused, as over GET (the upgrade is one), and the socket stays up', async () => {
    const s = await initSocket(api.wsUrl, alice.token);
    s.send({ id: 'm', type: 'subscribe', payload: { query: 'mutation { createConversation(title: "over ws") { id } }' } });
    const refused = await s.next((m) => m.id === 'm');
    expect(refused).toMatchObject({ type: 'error', payload: [{ message: expect.stringContaining('POST') }] });
    s.send({ id: 'q', type: 'subscribe', payload: { query: '{ me { id } }' } });
    expect(await s.next((m) => m.id === 'q' && m.type === 'next')).toMatchObject({ payload: { data: { me: { id: alice.id } } } });
    await closeSocket(s);
  });

  it('a duplicate id of a running subscription closes the socket with 4409 and releases it', async () => {
    const c = await conversationOf(alice);
    const s = await initSocket(api.wsUrl, alice.token);
    s.send({ id: 'dup', type: 'subscribe', payload: { query: ADDED, variables: { c } } });
    await until(async () => (await counts()).listeners > start.listeners);
    s.send({ id: 'dup', type: 'subscribe', payload: { query: ADDED, variables: { c } } });
    expect(await s.closed).toBe(4409);
    await until(async () => JSON.stringify(await counts()) === JSON.stringify(start));
  });

  it('1,000 subscriptions on one socket: WS_MAX_SUBSCRIPTIONS run, the rest get RATE_LIMITED, the socket stays up', async () => {
    const c = await conversationOf(alice);
    const s = await initSocket(api.wsUrl, alice.token);
    for (let i = 0; i < 1000; i++) s.send({ id: String(i), type: 'subscribe', payload: { query: ADDED, variables: { c } } });
    await until(() => s.messages.filter((m) => m.type === 'error').length >= 900, 15_000);
    const refused = s.messages.filter((m) => m.type === 'error');
    expect(refused).toHaveLength(900);
    expect(new Set(refused.map((m) => (m.payload as { extensions: { code: string } }[])[0]?.extensions.code))).toEqual(
      new Set(['RATE_LIMITED']),
    );
    // The 100 admitted ones are set up, on one execution (identical: shared), and live: one event reaches each.
    await until(async () => (await activeSubscriptions(api.url, 'messageAdded')) === 100, 15_000);
    expect(api.app.services.pubsub.stats().listeners - start.listeners).toBe(1);
    await until(async () => {
      await addMessage(c, 'to the admitted');
      return s.messages.filter((m) => m.type === 'next').length >= 100;
    }, 10_000);
    const delivered = new Set(s.messages.filter((m) => m.type === 'next').map((m) => m.id));
    expect(delivered.size).toBe(100);
    // Completing one frees a slot.
    const [freed] = [...delivered];
    s.send({ id: freed, type: 'complete' });
    await new Promise((r) => setTimeout(r, 200));
    s.send({ id: 'after', type: 'subscribe', payload: { query: ADDED, variables: { c } } });
    await new Promise((r) => setTimeout(r, 300));
    expect(s.messages.filter((m) => m.id === 'after' && m.type === 'error')).toEqual([]);
    s.socket.close();
    await s.closed;
    await until(async () => JSON.stringify(await counts()) === JSON.stringify(start));
  });
});

describe('subprotocols', () => {
  it('a socket without the graphql-transport-ws subprotocol is refused', async () => {
    const socket = new WebSocket(api.wsUrl, 'graphql-ws');
    socket.on('error', () => {});
    // The server picks no subprotocol: a strict client aborts (1006), a lax one is closed with 4406.
    expect([1006, 4406]).toContain(await new Promise((resolve) => socket.once('close', resolve)));
  });

  it('graphql-transport-ws is picked among several offered subprotocols', async () => {
    const socket = new WebSocket(api.wsUrl, ['graphql-ws', 'graphql-transport-ws']);
    await new Promise((resolve) => socket.once('open', resolve));
    expect(socket.protocol).toBe('graphql-transport-ws');
    socket.close();
  });
});

describe('hostile frames', () => {
  it.each([
    ['not JSON', 'this is not json'],
    ['JSON of an unknown type', '{"type":"launch_missiles"}'],
    ['a subscribe without a payload', '{"id":"1","type":"subscribe"}'],
    ['a JSON array', '[1,2,3]'],
  ])('%s closes the socket with 4400', async (_name, frame) => {
    const s = await initSocket(api.wsUrl, alice.token);
    s.send(frame);
    expect(await s.closed).toBe(4400);
  });

  it('a binary frame of garbage closes the socket with 4400', async () => {
    const s = await initSocket(api.wsUrl, alice.token);
    s.socket.send(Buffer.from([0xff, 0xfe, 0x00, 0x01]));
    expect(await s.closed).toBe(4400);
  });

  it('a frame over 1 MiB closes the socket with 1009 (message too big)', async () => {
    const s = await initSocket(api.wsUrl, alice.token);
    s.send({
      id: 'big',
      type: 'subscribe',
      payload: { query: `subscription { myGenerations { percent } } #${'x'.repeat(1100 * 1024)}` },
    });
    expect(await s.closed).toBe(1009);
  });

  it('keeps serving other sockets after all of that', stillServing);
});

describe('tokens', () => {
  it.each([
    ['a malformed token', async () => 'not.a.jwt'],
    ['an expired token', async () => token(rawId(alice.id), Math.floor(Date.now() / 1000) - 60)],
    ['a token signed with another key', async () => token(rawId(alice.id), Math.floor(Date.now() / 1000) + 3600, 'x'.repeat(48))],
    [
      'a token for a user under another role claim and key',
      async () => token('00000000-0000-4000-8000-000000000000', 2e9, 'y'.repeat(48)),
    ],
  ])('%s is refused at connection_init with 4403', async (_name, make) => {
    const s = await rawSocket(api.wsUrl);
    s.send({ type: 'connection_init', payload: { authorization: `Bearer ${await make()}` } });
    expect(await s.closed).toBe(4403);
    expect(s.messages.filter((m) => m.type === 'connection_ack')).toEqual([]);
  });

  it('a socket is closed with 4401 when its token expires, and its subscriptions are released', async () => {
    const c = await conversationOf(alice);
    const s = await initSocket(api.wsUrl, await token(rawId(alice.id), Math.floor(Date.now() / 1000) + 2));
    s.send({ id: 'a', type: 'subscribe', payload: { query: ADDED, variables: { c } } });
    await until(async () => (await counts()).listeners > start.listeners).catch(() => {
      throw new Error(JSON.stringify(s.messages));
    });
    expect(await s.closed).toBe(4401);
    await until(async () => JSON.stringify(await counts()) === JSON.stringify(start));
  });
});

describe('per-user and per-socket limits', () => {
  it('past WS_MAX_SOCKETS_PER_USER a new socket is closed with 4429; closing one makes room', async () => {
    const bob = await signUp(api.graphqlUrl);
    const open = await Promise.all(Array.from({ length: 20 }, () => initSocket(api.wsUrl, bob.token)));
    const extra = await rawSocket(api.wsUrl);
    extra.send({ type: 'connection_init', payload: { authorization: `Bearer ${bob.token}` } });
    expect(await extra.closed).toBe(4429);
    // Another user is not affected.
    await stillServing();
    const first = open.shift() as (typeof open)[number];
    first.socket.close();
    await first.closed;
    await until(async () => {
      const again = await rawSocket(api.wsUrl);
      again.send({ type: 'connection_init', payload: { authorization: `Bearer ${bob.token}` } });
      const acked = await again
        .next((m: RawMessage) => m.type === 'connection_ack', 1_000)
        .then(
          () => true,
          () => false,
        );
      if (acked) open.push(again);
      return acked;
    });
    await Promise.all(open.map(closeSocket));
  });

  it('a reader that stops reading is cut off once WS_MAX_BUFFERED_BYTES are queued, and its subscription released', async () => {
    const metric = async () => Number(/^dawg_ws_connections (\d+)/m.exec(await (await fetch(`${api.url}/metrics`)).text())?.[1]);
    const c = await conversationOf(alice);
    const base = await metric();
    const s = await initSocket(api.wsUrl, alice.token);
    s.send({ id: 'slow', type: 'subscribe', payload: { query: ADDED, variables: { c } } });
    await until(async () => (await counts()).listeners > start.listeners);
    // Stop reading: TCP buffers fill, then the server's queue grows.
    (s.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = 'x'.repeat(16 * 1024);
    await until(async () => {
      await Promise.all(Array.from({ length: 20 }, () => addMessage(c, big)));
      return JSON.stringify(await counts()) === JSON.stringify(start);
    }, 20_000);
    await until(async () => (await metric()) === base, 5_000);
    s.socket.terminate();
  }, 40_000);
});
