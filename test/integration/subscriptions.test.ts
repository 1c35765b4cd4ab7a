import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Project } from '../../src/generated/prisma/client.js';
import {
  collect,
  gql,
  primed,
  type RunningApp,
  signUp,
  startApp,
  subscribed,
  type TestUser,
  until,
  wsClient,
  rawId,
  storeAndPublishMessage,
} from '../helpers/harness.js';
import { type ApiProcess, printOutputOnFailure, spawnApi } from '../helpers/process.js';
import { activeSubscriptions } from '../helpers/ws.js';

const MESSAGE_ADDED = 'subscription($c: ID!) { messageAdded(conversationId: $c) { id content role status conversation { id } } }';
const PROJECT_UPDATED = 'subscription($p: ID!) { projectUpdated(projectId: $p) { id bpm key tracks { id } } }';

let api: RunningApp;
let other: ApiProcess;
let alice: TestUser;
let bob: TestUser;
const clients: { dispose(): void | Promise<void> }[] = [];

beforeAll(async () => {
  [api, other] = await Promise.all([startApp(), spawnApi()]);
  [alice, bob] = await Promise.all([signUp(api.graphqlUrl), signUp(api.graphqlUrl)]);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await Promise.all([api.stop(), other.kill()]);
});
// The tests across processes wait on `other`: a failure shows what it logged.
printOutputOnFailure(() => other);

function client(wsUrl: string, token?: string | null) {
  const c = wsClient(wsUrl, token);
  clients.push(c.client);
  return c;
}

async function conversationOf(user: TestUser) {
  const res = await gql(api.graphqlUrl, 'mutation { createConversation(title: "live") { id } }', {}, user.token);
  return res.data.createConversation.id as string;
}

/** Stores a message and publishes it, as the chat service does. */
const addMessage = (conversationId: string, content: string) => storeAndPublishMessage(api, conversationId, content);

describe('messageAdded', () => {
  it('delivers a stored message to a subscriber of its conversation', async () => {
    const conversationId = await conversationOf(alice);
    const { client: c } = client(api.wsUrl, alice.token);
    const sub = collect<{ messageAdded: Record<string, unknown> }>(c, MESSAGE_ADDED, { c: conversationId });
    await subscribed(api.app, 'messageAdded', rawId(conversationId));
    const message = await addMessage(conversationId, 'make me a lofi beat');
    const event = await sub.nth(1);
    expect(event.messageAdded).toMatchObject({
      content: 'make me a lofi beat',
      role: 'USER',
      status: 'COMPLETE',
      conversation: { id: conversationId },
    });
    expect(rawId(event.messageAdded.id as string)).toBe(message.id);
  });

  it('delivers messages of every frame length whole and in order (16- and 64-bit lengths)', async () => {
    const conversationId = await conversationOf(alice);
    const { client: c } = client(api.wsUrl, alice.token);
    const sub = collect<{ messageAdded: { content: string } }>(c, MESSAGE_ADDED, { c: conversationId });
    await subscribed(api.app, 'messageAdded', rawId(conversationId));
    // Wrapped in a next message, the short ones need a 16-bit length and the long ones (3 bytes a note) a 64-bit one.
    const contents = [20, 70_000, 300, 200_000, 1].map((n, i) => `${i}:${'♪'.repeat(n)}`);
    for (const content of contents) await addMessage(conversationId, content);
    for (const [i, content] of contents.entries()) expect((await sub.nth(i + 1)).messageAdded.content).toBe(content);
  });

  it('reaches a subscriber on another api process sharing the same Redis', async () => {
    const conversationId = await conversationOf(alice);
    const { client: c } = client(other.wsUrl, alice.token);
    const sub = collect<{ messageAdded: { content: string } }>(c, MESSAGE_ADDED, { c: conversationId });
    await subscribed(api.app, 'messageAdded', rawId(conversationId));
    await primed(sub, () => addMessage(conversationId, 'probe'));
    await addMessage(conversationId, 'published on instance A');
    // Delivery across processes, not its latency: the second process may be starved on a busy 2-core runner.
    await until(() => sub.events.some((e) => e.messageAdded.content === 'published on instance A'), 15_000);
    expect(sub.events.at(-1)?.messageAdded.content).toBe('published on instance A');
  });

  it("refuses a subscription to another user's conversation with NOT_FOUND", async () => {
    const conversationId = await conversationOf(alice);
    const { client: c } = client(api.wsUrl, bob.token);
    const sub = collect(c, MESSAGE_ADDED, { c: conversationId });
    const failure = (await sub.failure()) as { extensions?: { code?: string } }[];
    expect(failure[0]?.extensions?.code).toBe('NOT_FOUND');
    await addMessage(conversationId, 'not for bob');
    await new Promise((r) => setTimeout(r, 300));
    expect(sub.events).toEqual([]);
  });
});

describe('shared execution', () => {
  it('executes identical subscriptions of one viewer once, even when they arrive together, delivering to each socket', async () => {
    const solo = await startApp();
    try {
      const gauge = async () =>
        Number(/^dawg_ws_shared_subscription_streams (\d+)/m.exec(await (await fetch(`${solo.url}/metrics`)).text())?.[1]);
      const conversationId = await conversationOf(alice);
      const sockets = [client(solo.wsUrl, alice.token), client(solo.wsUrl, alice.token), client(solo.wsUrl, alice.token)];
      const subs = sockets.map(({ client: c }) =>
        collect<{ messageAdded: { content: string } }>(c, MESSAGE_ADDED, { c: conversationId }),
      );
      // All three are set up (the gauge counts streaming operations), on one execution: one Redis listener.
      await until(async () => (await activeSubscriptions(solo.url, 'messageAdded')) === 3);
      expect(await gauge()).toBe(1);
      expect(solo.app.services.pubsub.stats().listeners).toBe(1);
      await subscribed(solo.app, 'messageAdded', rawId(conversationId));
      await addMessage(conversationId, 'to all three');
      for (const sub of subs) expect((await sub.nth(1)).messageAdded.content).toBe('to all three');

      // One leaves: the others still get events; the last one out closes the stream.
      subs[0]?.dispose();
      await addMessage(conversationId, 'to two');
      expect((await subs[1]?.nth(2))?.messageAdded.content).toBe('to two');
      expect((await subs[2]?.nth(2))?.messageAdded.content).toBe('to two');
      expect(subs[0]?.events).toHaveLength(1);
      subs[1]?.dispose();
      subs[2]?.dispose();
      await until(async () => (await gauge()) === 0);
      await until(async () => (await activeSubscriptions(solo.url, 'messageAdded')) === 0);
    } finally {
      await solo.stop();
    }
  });
});

describe('projectUpdated', () => {
  it('pushes the project after a mutation made on another instance', async () => {
    const created = await gql(api.graphqlUrl, 'mutation { createProject(name: "live", bpm: 90) { id } }', {}, alice.token);
    const projectId = created.data.createProject.id;
    const { client: c } = client(other.wsUrl, alice.token);
    const sub = collect<{ projectUpdated: { bpm: number; key: string } }>(c, PROJECT_UPDATED, { p: projectId });
    await subscribed(api.app, 'projectUpdated', rawId(projectId));
    await primed(sub, async () => {
      const project = await api.app.prisma.project.findUniqueOrThrow({ where: { id: rawId(projectId) } });
      await api.app.services.pubsub.publish('projectUpdated', project.id, { projectId: project.id, project });
    });
    const updated = await gql(
      api.graphqlUrl,
      'mutation($id: ID!) { updateProject(id: $id, bpm: 128, key: "Dm") { id } }',
      { id: projectId },
      alice.token,
    );
    expect(updated.errors).toBeUndefined();
    await until(() => sub.events.some((e) => e.projectUpdated.bpm === 128), 15_000);
    expect(sub.events.at(-1)?.projectUpdated).toMatchObject({ bpm: 128, key: 'D minor' });
  });
});

describe('refused and malformed sockets', () => {
  it.each([
    ['no token', undefined],
    ['a null token', null],
    ['a forged token', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'],
  ])('closes a socket with %s (4403) before it can subscribe', async (_label, token) => {
    const { client: c, closed } = client(api.wsUrl, token);
    const sub = collect(c, MESSAGE_ADDED, { c: await conversationOf(alice) });
    expect(await closed).toBe(4403);
    expect(sub.events).toEqual([]);
  });

  it('accepts the token under "Authorization", as GraphiQL sends its header editor', async () => {
    const conversationId = await conversationOf(alice);
    const graphiqlStyle = createClient({
      url: api.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { Authorization: `Bearer ${alice.token}` },
    });
    clients.push(graphiqlStyle);
    const sub = collect<{ messageAdded: { content: string } }>(graphiqlStyle, MESSAGE_ADDED, { c: conversationId });
    await subscribed(api.app, 'messageAdded', rawId(conversationId));
    await addMessage(conversationId, 'from graphiql');
    expect((await sub.nth(1)).messageAdded.content).toBe('from graphiql');
  });

  it('closes a socket that sends a malformed message (4400) and keeps serving others', async () => {
    const raw = new WebSocket(api.wsUrl, 'graphql-transport-ws');
    const code = await new Promise<number>((resolve) => {
      raw.on('open', () => raw.send('this is not json'));
      raw.on('close', (c) => resolve(c));
    });
    expect(code).toBe(4400);
    const healthy = await gql(api.graphqlUrl, '{ me { id } }', {}, alice.token);
    expect(healthy.data.me.id).toBe(alice.id);
  });

  it('terminates a peer that stops answering pings', async () => {
    const solo = await startApp({ WS_KEEPALIVE_MS: '1000' });
    try {
      const metric = async () => {
        const text = await (await fetch(`${solo.url}/metrics`)).text();
        return Number(/^dawg_ws_connections (\d+)/m.exec(text)?.[1]);
      };
      const raw = new WebSocket(solo.wsUrl, 'graphql-transport-ws');
      await new Promise((r) => raw.once('open', r));
      await until(async () => (await metric()) === 1);
      // Stop reading: the client no longer sees pings, so never pongs.
      (raw as unknown as { _socket: { pause(): void } })._socket.pause();
      await until(async () => (await metric()) === 0, 6_000);
      raw.terminate();
    } finally {
      await solo.stop();
    }
  });

  it('pings each socket once per keepalive period, the sockets a slice at a time rather than all at once', async () => {
    // Raw sockets that never send connection_init: the init timeout must outlast the test.
    const solo = await startApp({ WS_KEEPALIVE_MS: '1000', WS_INIT_TIMEOUT_MS: '60000' });
    const sockets: WebSocket[] = [];
    try {
      const pings: number[][] = [];
      for (let i = 0; i < 20; i++) {
        const raw = new WebSocket(solo.wsUrl, 'graphql-transport-ws');
        const times: number[] = [];
        pings.push(times);
        raw.on('ping', () => times.push(performance.now()));
        sockets.push(raw);
        await new Promise((r) => raw.once('open', r));
      }
      const started = performance.now();
      await until(async () => pings.every((t) => t.filter((at) => at > started).length >= 3), 6_000);
      const since = pings.map((t) => t.filter((at) => at > started));
      // Each socket is pinged once per period: consecutive pings about 1 s apart, never two together ...
      for (const t of since) {
        for (let i = 1; i < t.length; i++) {
          const gap = (t[i] as number) - (t[i - 1] as number);
          expect(gap).toBeGreaterThan(900);
          expect(gap).toBeLessThan(1300);
        }
      }
      // ... and the sockets' pings come spread across the period (ten slices of 100 ms), not in one burst.
      const firsts = since.map((t) => t[0] as number);
      expect(Math.max(...firsts) - Math.min(...firsts)).toBeGreaterThan(500);
      // Answered pings keep every socket open.
      expect(sockets.every((s) => s.readyState === WebSocket.OPEN)).toBe(true);
    } finally {
      for (const s of sockets) s.terminate();
      await solo.stop();
    }
  });
});

describe("a generation's events arriving out of order", () => {
  const GENERATE = 'mutation($input: GenerateBeatInput!) { generateBeat(input: $input) { id } }';
  const MINE = 'subscription { myGenerations { percent generation { id } } }';
  const ONE = 'subscription($id: ID!) { generationProgress(id: $id) { percent } }';
  const PROJECT = 'subscription($p: ID!) { projectEvents(projectId: $p) { kind generation { percent } } }';

  it('drops an older version that arrives after a newer one, on every subscription that carries them', async () => {
    // A user of their own: nothing else of theirs is published while this runs.
    const carol = await signUp(api.graphqlUrl);
    // generateBeat publishes its PENDING event (version 0) without waiting for it. On a Redis Cluster it
    // once reached the myGenerations subscription below after that subscription started, ahead of this
    // test's own events (a run on Node 24). Waiting until this process's subscriber has it keeps it out
    // (the other process may hear it through another Cluster node, but only well before the setup below).
    const created = await api.app.services.pubsub.subscribeReady('userGenerations', rawId(carol.id));
    const queued = await gql(
      api.graphqlUrl,
      GENERATE,
      { input: { genre: 'lofi', bpm: 90, key: 'A minor', durationSec: 30 } },
      carol.token,
    );
    try {
      expect(queued.errors).toBeUndefined();
      const queuedId = rawId(queued.data.generateBeat.id);
      for await (const event of created) if (event.generation.id === queuedId) break;
    } finally {
      await created.return?.();
    }
    const id = rawId(queued.data.generateBeat.id);
    const row = await api.app.prisma.generation.findUniqueOrThrow({ where: { id } });
    expect(row.version).toBe(0);

    const project = await gql(api.graphqlUrl, 'mutation { createProject(name: "order") { id } }', {}, carol.token);
    const projectId = rawId(project.data.createProject.id);

    const { client: c } = client(other.wsUrl, carol.token);
    const inProject = collect<{ projectEvents: { kind: string; generation: { percent: number } | null } }>(c, PROJECT, {
      p: project.data.createProject.id,
    });
    const mine = collect<{ myGenerations: { percent: number; generation: { id: string } } }>(c, MINE);
    const one = collect<{ generationProgress: { percent: number } }>(c, ONE, { id: queued.data.generateBeat.id });
    // generationProgress and projectEvents send a head (the current state, who is present) once their
    // subscription is ready; myGenerations has none, so it is primed with an event about another generation.
    await until(() => one.events.length === 1 && inProject.events.length >= 1, 15_000);
    const { pubsub } = api.app.services;
    const probe = { ...row, id: randomUUID() };
    await primed(mine, () => pubsub.publish('userGenerations', row.userId, { generation: probe, percent: 0, stage: null }));
    const ours = () => mine.events.filter((e) => e.myGenerations.generation.id === queued.data.generateBeat.id);

    // As the worker and a queue-moved snapshot read before it could: 2 (v1), then 0 (v0, stale),
    // then 2 again (same version: passes), then 5 (v2).
    for (const [version, progress] of [
      [1, 2],
      [0, 0],
      [1, 2],
      [2, 5],
    ] as const) {
      const generation = { ...row, version, progress, status: version ? ('PROCESSING' as const) : row.status };
      const event = { generation, percent: progress, stage: generation.stage };
      await pubsub.publish('userGenerations', row.userId, event);
      await pubsub.publish('generationProgress', id, event);
      await pubsub.publish('projectEvent', projectId, {
        projectId,
        kind: 'GENERATION_PROGRESS',
        byUserId: null,
        generation: event,
      });
    }
    const progressInProject = () => inProject.events.filter((e) => e.projectEvents.kind === 'GENERATION_PROGRESS');
    await until(() => ours().length >= 3 && one.events.length >= 4 && progressInProject().length >= 3, 15_000);
    await new Promise((r) => setTimeout(r, 300)); // nothing else follows
    expect(ours().map((e) => e.myGenerations.percent)).toEqual([2, 2, 5]);
    expect(one.events.map((e) => e.generationProgress.percent)).toEqual([0, 2, 2, 5]);
    expect(progressInProject().map((e) => e.projectEvents.generation?.percent)).toEqual([2, 2, 5]);
    // Out of the queue, so no other file's worker picks it up.
    const cancelled = await gql(
      api.graphqlUrl,
      'mutation($id: ID!) { cancelGeneration(id: $id) { status } }',
      { id: queued.data.generateBeat.id },
      carol.token,
    );
    expect(cancelled.data?.cancelGeneration.status).toBe('CANCELLED');
  });
});

describe("one channel's events", () => {
  it('reach a subscriber in the order one process published them (on a Redis Cluster too)', async () => {
    const conversationId = rawId(await conversationOf(alice));
    const message = await api.app.prisma.message.create({ data: { conversationId, role: 'USER', content: '' } });
    const { pubsub } = api.app.services;
    const live = await pubsub.subscribeReady('messageAdded', conversationId);
    const got: number[] = [];
    void (async () => {
      for await (const event of live) got.push(Number(event.message.content));
    })();
    for (let i = 0; i < 1_000; i++)
      await pubsub.publish('messageAdded', conversationId, { conversationId, message: { ...message, content: String(i) } });
    await until(() => got.length >= 1_000, 15_000);
    await live.return?.();
    expect(got).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
  });

  it('ends the stream of a revoked member before anything published after the revocation, on any channel (on a Redis Cluster too)', async () => {
    const { pubsub, projectAccess } = api.app.services;
    const userId = randomUUID();
    const leaked: string[] = [];
    const ended: Promise<void>[] = [];
    // Each stream on its own project's channel: in a Redis Cluster, 200 channels over every slot's master.
    for (let i = 0; i < 200; i++) {
      const projectId = randomUUID();
      const live = await pubsub.subscribeReady('projectUpdated', projectId);
      projectAccess.watch(userId, projectId, () => void live.return?.());
      ended.push(
        (async () => {
          for await (const event of live) leaked.push(event.projectId);
        })(),
      );
      // Sent together: one read may hand both to the process, the revocation first.
      await Promise.all([
        pubsub.publishAhead('projectAccessRevoked', 'all', { projectId, userId, id: randomUUID() }),
        pubsub.publish('projectUpdated', projectId, { projectId, project: { id: projectId } as Project }),
      ]);
    }
    await Promise.all(ended);
    expect(leaked).toEqual([]);
    expect(projectAccess.size).toBe(0);
  });
});
