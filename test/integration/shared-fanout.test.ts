/**
 * A shared stream's results are serialized once and written to each socket as one prepared frame
 * (src/transport/graphql-ws.ts, next-frames.ts). Every policy of a delivery still holds per socket
 * on that path: the protocol's frames, late joiners, leaving, the bounded send queue, token expiry
 * and revocation, and the end of a stream when access is lost.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  gql,
  rawId,
  storeAndPublishMessage,
  type RunningApp,
  signUp,
  startApp,
  type TestUser,
  testConfig,
  until,
} from '../helpers/harness.js';
import { activeSubscriptions, channelCounts, closeSocket, initSocket, isolatedPrefix, type RawSocket } from '../helpers/ws.js';

const prefix = isolatedPrefix();
const env = { REDIS_PREFIX: prefix, WS_MAX_BUFFERED_BYTES: '65536', WS_MAX_SOCKETS_PER_USER: '20' };
const ADDED = 'subscription($c: ID!) { messageAdded(conversationId: $c) { id content } }';

let api: RunningApp;
let alice: TestUser;
let start: Awaited<ReturnType<typeof channelCounts>>;

beforeAll(async () => {
  api = await startApp(env);
  alice = await signUp(api.graphqlUrl);
  start = await channelCounts(api.app, prefix);
});
afterAll(() => api?.stop());

const counts = () => channelCounts(api.app, prefix);
const active = () => activeSubscriptions(api.url, 'messageAdded');
const gauge = async (name: string) =>
  Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${api.url}/metrics`)).text())?.[1]);
const sharedStreams = () => gauge('dawg_ws_shared_subscription_streams');

async function conversationOf(user: TestUser, projectId?: string) {
  const res = await gql(
    api.graphqlUrl,
    'mutation($p: ID) { createConversation(title: "fan-out", projectId: $p) { id } }',
    { p: projectId ?? null },
    user.token,
  );
  return res.data.createConversation.id as string;
}

/** Stores a message and publishes it, as the chat service does. */
const addMessage = (conversationId: string, content: string) => storeAndPublishMessage(api, conversationId, content);

/** A socket past connection_ack that records every frame as it came: its text and whether it was binary. */
async function recordingSocket(token: string) {
  const s = await initSocket(api.wsUrl, token);
  const frames: { text: string; binary: boolean }[] = [];
  s.socket.on('message', (data, binary) => frames.push({ text: String(data), binary }));
  return Object.assign(s, { frames });
}

/** Subscribes `s` under `id` and waits until the api counts `expected` messageAdded subscriptions. */
async function subscribe(s: RawSocket, id: string, conversationId: string, expected: number) {
  s.send({ id, type: 'subscribe', payload: { query: ADDED, variables: { c: conversationId } } });
  await until(async () => (await active()) === expected);
}

/** The contents `s` received for operation `id`, in order (null for a result without data). */
const contents = (s: RawSocket, id: string) =>
  s.messages
    .filter((m) => m.type === 'next' && m.id === id)
    .map((m) => (m.payload as { data: { messageAdded: { content: string } } | null }).data?.messageAdded.content ?? null);

function token(userId: string, exp: number) {
  return new SignJWT({ role: 'USER' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuer('dawg')
    .setAudience('dawg-api')
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(testConfig(env).JWT_SECRET));
}

/** Closes the sockets and waits until nothing of theirs runs any more. */
async function done(...sockets: RawSocket[]) {
  await Promise.all(sockets.map(closeSocket));
  await until(async () => (await active()) === 0 && (await sharedStreams()) === 0);
  await until(async () => JSON.stringify(await counts()) === JSON.stringify(start));
}

describe('a shared stream', () => {
  it("writes each socket graphql-ws's next message as a text frame under its own id, from one execution", async () => {
    const c = await conversationOf(alice);
    const ids = ['1', 'a1b2c3d4-0000-4000-8000-000000000000', 'quote " ünïcode 🎧'];
    const sockets = await Promise.all(ids.map(() => recordingSocket(alice.token)));
    for (const [i, s] of sockets.entries()) await subscribe(s, ids[i] as string, c, i + 1);
    expect(await sharedStreams()).toBe(1);
    expect((await counts()).listeners - start.listeners).toBe(1);

    const message = await addMessage(c, 'to all three ♪');
    await until(() => sockets.every((s) => s.frames.some((f) => f.text.includes('"next"'))));
    const payloads = sockets.map((s, i) => {
      const [frame] = s.frames.filter((f) => f.text.includes('"next"'));
      expect(frame?.binary).toBe(false);
      const head = `{"id":${JSON.stringify(ids[i])},"type":"next","payload":`;
      expect(frame?.text.startsWith(head)).toBe(true);
      expect(frame?.text.endsWith('}')).toBe(true);
      return frame?.text.slice(head.length, -1);
    });
    // One payload, byte for byte the same on every socket.
    expect(new Set(payloads).size).toBe(1);
    expect(JSON.parse(payloads[0] as string)).toEqual({
      data: { messageAdded: { id: expect.any(String), content: 'to all three ♪' } },
    });
    expect(rawId(JSON.parse(payloads[0] as string).data.messageAdded.id)).toBe(message.id);
    await done(...sockets);
  });

  it('reaches a late joiner from its arrival on; one that completes gets nothing more; the others go on', async () => {
    const c = await conversationOf(alice);
    const [a, b, late] = await Promise.all([
      initSocket(api.wsUrl, alice.token),
      initSocket(api.wsUrl, alice.token),
      initSocket(api.wsUrl, alice.token),
    ]);
    await subscribe(a, 'a', c, 1);
    await subscribe(b, 'b', c, 2);
    await addMessage(c, 'one');
    await until(() => contents(a, 'a').length === 1 && contents(b, 'b').length === 1);
    await subscribe(late, 'late', c, 3);
    await addMessage(c, 'two');
    await until(() => contents(late, 'late').length === 1 && contents(b, 'b').length === 2);
    b.send({ id: 'b', type: 'complete' });
    await until(async () => (await active()) === 2);
    await addMessage(c, 'three');
    await until(() => contents(a, 'a').length === 3 && contents(late, 'late').length === 2);
    expect(contents(a, 'a')).toEqual(['one', 'two', 'three']);
    expect(contents(b, 'b')).toEqual(['one', 'two']);
    expect(contents(late, 'late')).toEqual(['two', 'three']);
    // The server does not answer a client's complete (graphql-transport-ws).
    expect(b.messages.filter((m) => m.type === 'complete')).toEqual([]);
    expect(await sharedStreams()).toBe(1);
    await done(a, b, late);
  });

  it('cuts off a reader that stops reading (4408) and releases it; the sockets sharing its stream get every event', async () => {
    const c = await conversationOf(alice);
    const sockets = await gauge('dawg_ws_connections');
    const [a, b, slow] = await Promise.all([
      initSocket(api.wsUrl, alice.token),
      initSocket(api.wsUrl, alice.token),
      initSocket(api.wsUrl, alice.token),
    ]);
    await subscribe(a, 'a', c, 1);
    await subscribe(b, 'b', c, 2);
    await subscribe(slow, 'slow', c, 3);
    // Stop reading: TCP buffers fill, then the server's queue grows past WS_MAX_BUFFERED_BYTES.
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = 'x'.repeat(16 * 1024);
    let published = 0;
    await until(async () => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => addMessage(c, `${big}${published + i}`)));
      published += 20;
      return (await active()) === 2;
    }, 20_000);
    expect(await sharedStreams()).toBe(1);
    await addMessage(c, 'after');
    published++;
    await until(() => contents(a, 'a').length === published && contents(b, 'b').length === published, 10_000);
    expect(contents(a, 'a').at(-1)).toBe('after');
    // The server closed it (and terminates it, as it does not read the close frame).
    await until(async () => (await gauge('dawg_ws_connections')) === sockets + 2, 5_000);
    slow.socket.terminate();
    await done(a, b);
  }, 40_000);

  it('closes a socket whose token expires (4401) and releases it; the socket sharing its stream goes on', async () => {
    const c = await conversationOf(alice);
    const shortLived = await initSocket(api.wsUrl, await token(rawId(alice.id), Math.floor(Date.now() / 1000) + 2));
    const other = await initSocket(api.wsUrl, alice.token);
    await subscribe(shortLived, 'a', c, 1);
    await subscribe(other, 'b', c, 2);
    expect(await sharedStreams()).toBe(1);
    expect(await shortLived.closed).toBe(4401);
    await until(async () => (await active()) === 1);
    await addMessage(c, 'still live');
    await until(() => contents(other, 'b').length === 1);
    expect(contents(shortLived, 'a')).toEqual([]);
    await done(other);
  });

  it('closes a socket whose token was revoked (4401); the socket sharing its stream goes on', async () => {
    const c = await conversationOf(alice);
    const logIn = await gql(api.graphqlUrl, 'mutation($e: String!, $p: String!) { logIn(email: $e, password: $p) { token } }', {
      e: alice.email,
      p: 'correct horse battery',
    });
    const second = logIn.data.logIn.token as string;
    const revoked = await initSocket(api.wsUrl, second);
    const other = await initSocket(api.wsUrl, alice.token);
    await subscribe(revoked, 'a', c, 1);
    await subscribe(other, 'b', c, 2);
    expect(await sharedStreams()).toBe(1);
    expect((await gql(api.graphqlUrl, 'mutation { logOut }', {}, second)).data.logOut).toBe(true);
    expect(await revoked.closed).toBe(4401);
    await until(async () => (await active()) === 1);
    await addMessage(c, 'still live');
    await until(() => contents(other, 'b').length === 1);
    await done(other);
  });

  it("completes every socket of a member who loses access to the stream's project", async () => {
    const owner = await signUp(api.graphqlUrl);
    const member = await signUp(api.graphqlUrl);
    const p = (await gql(api.graphqlUrl, 'mutation { createProject(name: "fan-out", bpm: 90) { id } }', {}, owner.token)).data
      .createProject.id as string;
    const added = await gql(
      api.graphqlUrl,
      'mutation($p: ID!, $e: String!) { addProjectMember(projectId: $p, email: $e, role: VIEWER) { role } }',
      { p, e: member.email },
      owner.token,
    );
    expect(added.data.addProjectMember.role).toBe('VIEWER');
    const c = await conversationOf(owner, p);
    const sockets = await Promise.all([initSocket(api.wsUrl, member.token), initSocket(api.wsUrl, member.token)]);
    await subscribe(sockets[0] as RawSocket, 'x', c, 1);
    await subscribe(sockets[1] as RawSocket, 'y', c, 2);
    expect(await sharedStreams()).toBe(1);
    await gql(
      api.graphqlUrl,
      'mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) { id } }',
      { p, u: member.id },
      owner.token,
    );
    await Promise.all(sockets.map((s, i) => s.next((m) => m.type === 'complete' && m.id === ['x', 'y'][i])));
    await until(async () => (await active()) === 0 && (await sharedStreams()) === 0);
    await done(...sockets);
  });

  it('delivers an event that fails to resolve as the same masked error to every socket, and goes on', async () => {
    const c = await conversationOf(alice);
    const sockets = await Promise.all([initSocket(api.wsUrl, alice.token), initSocket(api.wsUrl, alice.token)]);
    await subscribe(sockets[0] as RawSocket, 'a', c, 1);
    await subscribe(sockets[1] as RawSocket, 'b', c, 2);
    // An event whose message has no content: the non-null field fails for every subscriber alike.
    const conversationId = rawId(c);
    await api.app.services.pubsub.publish('messageAdded', conversationId, {
      conversationId,
      message: { id: '00000000-0000-4000-8000-000000000000', conversationId } as never,
    });
    const failures = await Promise.all(sockets.map((s, i) => s.next((m) => m.type === 'next' && m.id === ['a', 'b'][i])));
    for (const failure of failures) {
      expect(failure.payload).toMatchObject({ data: null, errors: [{ extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    }
    expect(JSON.stringify(failures[0]?.payload)).toBe(JSON.stringify(failures[1]?.payload));
    await addMessage(c, 'after the failure');
    await until(() => contents(sockets[0] as RawSocket, 'a').length === 2 && contents(sockets[1] as RawSocket, 'b').length === 2);
    expect(contents(sockets[0] as RawSocket, 'a')).toEqual([null, 'after the failure']);
    expect(contents(sockets[1] as RawSocket, 'b')).toEqual([null, 'after the failure']);
    await done(...sockets);
  });
});
