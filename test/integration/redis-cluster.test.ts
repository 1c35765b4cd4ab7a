/**
 * dawg on a Redis Cluster (issue 13): six redis-server nodes made with `redis-cli --cluster create`
 * (scripts/topology/redis-cluster.ts). Every role runs on it: BullMQ (its keys under one hash tag),
 * pub/sub, rate limits, reply slots and token revocation (Lua on one key), and reply chunks (a Lua
 * call per reply's hash tag). Then, while beats generate and replies stream, the master serving the
 * queue's slot is SIGKILLed: its replica takes over, the api closes its sockets once pub/sub is back
 * (1012) and clients resume. Counted: lost beats, chunks missing or received twice, and followers
 * that never resume: 0 each.
 */
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ClusterTopology, startClusterTopology } from '../../scripts/topology/redis-cluster.js';
import { queuePrefix } from '../../src/jobs/generation-job.js';
import { failoverUnderLoad, expectNothingLost, FAILOVER_ENV } from '../helpers/failover-load.js';
import { followReply } from '../helpers/follow.js';
import { codes, gql, signUp, type TestUser, until } from '../helpers/harness.js';
import { type Stack, startStack, waitFor } from '../helpers/stack.js';
import type { Cluster, Redis as RedisServer } from 'ioredis';
import { pino } from 'pino';
import WebSocket from 'ws';
import { PubSub } from '../../src/pubsub.js';
import { createRedis } from '../../src/redis.js';

const SEND = 'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { assistantMessage { id } } }';
const BEAT = 'mutation($d: Int!) { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", durationSec: $d }) { id } }';

describe('Redis Cluster', () => {
  let topology: ClusterTopology;
  let stack: Stack;
  let user: TestUser;

  beforeAll(async () => {
    topology = await startClusterTopology(7000 + randomInt(2000));
    stack = await startStack({ ...topology.env, ...FAILOVER_ENV });
    user = await signUp(stack.api.graphqlUrl);
  }, 60_000);
  afterAll(async () => {
    const started = Date.now();
    try {
      await stack?.stop();
    } finally {
      await topology?.stop();
    }
    console.info(`stopped in ${Date.now() - started} ms`);
  }, 90_000);

  it('runs every role: a beat, a streamed reply, and a revoked token', async () => {
    const beat = await gql(stack.api.graphqlUrl, BEAT, { d: 5 }, user.token);
    expect(beat.errors).toBeUndefined();
    const c = (await gql(stack.api.graphqlUrl, 'mutation { createConversation(title: "cluster") { id } }', {}, user.token)).data
      .createConversation.id as string;
    const sent = await gql(stack.api.graphqlUrl, SEND, { c, t: 'hey, what can you do?' }, user.token);
    expect(sent.errors).toBeUndefined();
    const reply = await followReply(stack.api.wsUrl, user.token, c, sent.data.sendMessage.assistantMessage.id);
    expect(reply).toMatchObject({ missing: 0, duplicates: 0, reconnects: 0, final: { status: 'COMPLETE' } });
    expect(reply.text).toBe(reply.final?.content);
    expect((await waitFor(stack.api, user.token, beat.data.generateBeat.id, undefined, 30_000)).status).toBe('COMPLETED');

    const other = await signUp(stack.api.graphqlUrl);
    expect((await gql(stack.api.graphqlUrl, 'mutation { logOut }', {}, other.token)).errors).toBeUndefined();
    expect(codes(await gql(stack.api.graphqlUrl, '{ conversations(first: 1) { edges { cursor } } }', {}, other.token))).toEqual([
      'UNAUTHENTICATED',
    ]);
  }, 60_000);

  it('connects to every master once the slots are known, so no first command there waits for a connect', async () => {
    const nodes = clusterNodes(topology);
    const cluster = createRedis({ cluster: nodes }, pino({ level: 'silent' }), 'test-masters') as Cluster;
    try {
      await new Promise((resolve) => cluster.once('ready', resolve));
      // Nothing sent yet: ioredis alone leaves each master's connection waiting for its first command.
      const deadline = Date.now() + 2_000;
      while (Date.now() < deadline && !cluster.nodes('master').every((n) => n.status === 'ready'))
        await new Promise((r) => setTimeout(r, 20));
      expect(cluster.nodes('master').map((n) => n.status)).toEqual(['ready', 'ready', 'ready']);
    } finally {
      cluster.disconnect();
    }
  });

  it('publishes a revocation from every master; skips a master that fails, and falls back to one publish if all do', async () => {
    const nodes = clusterNodes(topology);
    const log = pino({ level: 'silent' });
    const publisher = createRedis({ cluster: nodes }, log, 'test-ahead-pub') as Cluster;
    const subscriber = createRedis({ cluster: nodes }, log, 'test-ahead-sub');
    await new Promise((resolve) => publisher.once('ready', resolve));
    const pubsub = new PubSub(publisher, subscriber, `ahead-${randomInt(1e9)}:`);
    const copies = new Map<string, number>();
    const spies: { mockRestore(): void }[] = [];
    try {
      await pubsub.listen('projectAccessRevoked', 'all', ({ id }) =>
        copies.set(id as string, (copies.get(id as string) ?? 0) + 1),
      );
      const send = async (id: string) => {
        await pubsub.publishAhead('projectAccessRevoked', 'all', { userId: 'u', projectId: 'p', id });
        await new Promise((r) => setTimeout(r, 200));
        return copies.get(id) ?? 0;
      };
      expect(await send('every')).toBe(3);
      const [first, ...rest] = publisher.nodes('master');
      const fail = (node: typeof first) =>
        vi.spyOn(node as NonNullable<typeof first>, 'publish').mockRejectedValue(new Error('failing over'));
      spies.push(fail(first));
      expect(await send('one down')).toBe(2);
      spies.push(...rest.map(fail));
      expect(await send('all down')).toBe(1);
    } finally {
      for (const spy of spies) spy.mockRestore();
      publisher.disconnect();
      subscriber.disconnect();
    }
  });

  it('subscribes again to a channel that ioredis did not carry over to its next subscriber connection', async () => {
    const nodes = clusterNodes(topology);
    const log = pino({ level: 'silent' });
    const publisher = createRedis({ cluster: nodes }, log, 'test-lost-pub') as Cluster;
    const subscriber = createRedis({ cluster: nodes }, log, 'test-lost-sub', { followTopology: true });
    const pubsub = new PubSub(publisher, subscriber, `lost-${randomInt(1e9)}:`);
    const got: string[] = [];
    let resumed = 0;
    const unwatch = pubsub.watchInterruptions(() => resumed++, 100);
    try {
      await pubsub.listen('projectAccessRevoked', 'all', ({ id }) => got.push(id));
      const connection = () =>
        (subscriber as unknown as { subscriber: { getInstance(): RedisServer | null } }).subscriber.getInstance();
      const lost = connection();
      if (!lost) throw new Error('no subscriber connection');
      // What a connection closed before its resubscription finished leaves behind: Redis no longer
      // sends the channel there, and ioredis will not subscribe its next connection to it.
      await lost.unsubscribe(pubsub.channel('projectAccessRevoked', 'all'));
      lost.disconnect();
      await until(() => resumed === 1, 10_000);
      expect(connection()).not.toBe(lost);
      await until(async () => {
        await publisher.publish(
          pubsub.channel('projectAccessRevoked', 'all'),
          JSON.stringify({ userId: 'u', projectId: 'p', id: 'after' }),
        );
        return got.includes('after');
      }, 5_000);
    } finally {
      unwatch();
      publisher.disconnect();
      subscriber.disconnect();
    }
  }, 30_000);

  it('closes no socket when a replica that pub/sub is not on goes away', async () => {
    const queueMaster = await topology.masterOf(`${queuePrefix(stack.env.REDIS_PREFIX as string)}:generation`);
    const on = stack.api.app.services.pubsub.subscriberNode();
    expect(on).toMatch(/^127\.0\.0\.1:\d+$/);
    // Not the queue master's: the next test fails that master over to its replica.
    const replica = (await topology.replicas()).find((r) => r.masterPort !== queueMaster && `127.0.0.1:${r.port}` !== on);
    if (!replica) throw new Error(`no replica to kill (subscriber on ${on}, queue on ${queueMaster})`);
    const socket = await openSocket(stack.api.wsUrl, user.token);
    let closedWith: number | null = null;
    socket.on('close', (code) => {
      closedWith = code;
    });
    await topology.killNode(replica.port);
    await topology.failed(replica.port);
    // Every node has dropped it from CLUSTER SLOTS: the api's next refreshes (each second) take it out of
    // the pool ('-node'). A master leaving would close the socket within about 1.5 s.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(closedWith).toBeNull();
    socket.close();
  }, 60_000);

  it('loses no beat, chunk or subscription when the master serving the queue is killed', async () => {
    const victim = await topology.masterOf(`${queuePrefix(stack.env.REDIS_PREFIX as string)}:generation`);
    const result = await failoverUnderLoad(stack, user, async () => {
      await topology.killNode(victim);
      await topology.failedOver(victim);
    });
    expectNothingLost('cluster', result);
    // A master left: events published through it just before may never have reached the other nodes,
    // so the api closed every socket (1012) once the cluster answered again, and the followers resumed,
    // whichever node its subscriber was on (src/redis.ts asks for the slots every second).
    expect(result.progressResubscribed).toBeGreaterThan(0);
  }, 240_000);
});

/** The cluster's nodes as ioredis takes them. */
function clusterNodes(topology: ClusterTopology): { host: string; port: number }[] {
  return (topology.env.REDIS_CLUSTER_NODES as string).split(',').map((hp) => {
    const [host, port] = hp.split(':');
    return { host: host as string, port: Number(port) };
  });
}

/** A graphql-ws socket past its connection_ack, with one live subscription. */
async function openSocket(wsUrl: string, token: string): Promise<WebSocket> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    );
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type !== 'connection_ack') return;
      socket.send(
        JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { myGenerations { percent } }' } }),
      );
      resolve();
    });
  });
  return socket;
}
