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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterTopology, startClusterTopology } from '../../scripts/topology/redis-cluster.js';
import { queuePrefix } from '../../src/jobs/generation-job.js';
import { failoverUnderLoad, expectNothingLost, FAILOVER_ENV } from '../helpers/failover-load.js';
import { followReply } from '../helpers/follow.js';
import { codes, gql, signUp, type TestUser } from '../helpers/harness.js';
import { type Stack, startStack, waitFor } from '../helpers/stack.js';

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
