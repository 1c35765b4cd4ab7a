/**
 * dawg on Redis Sentinel (issue 13): a master, a replica and three sentinels from Debian's
 * redis-server (scripts/topology/redis-sentinel.ts). The api and worker find the master through the
 * sentinels; the master is SIGKILLed while beats generate and replies stream; the sentinels promote
 * the replica. Every beat completes, the api closes its sockets once pub/sub is back (1012), and the
 * followers resume: 0 chunks missing or received twice, every subscription resumed.
 */
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSentinelTopology, type SentinelTopology } from '../../scripts/topology/redis-sentinel.js';
import { expectNothingLost, FAILOVER_ENV, failoverUnderLoad } from '../helpers/failover-load.js';
import { gql, signUp, type TestUser } from '../helpers/harness.js';
import { type Stack, startStack, waitFor } from '../helpers/stack.js';

describe('Redis Sentinel', () => {
  let topology: SentinelTopology;
  let stack: Stack;
  let user: TestUser;

  beforeAll(async () => {
    topology = await startSentinelTopology(7000 + randomInt(2000));
    stack = await startStack({ ...topology.env, ...FAILOVER_ENV });
    user = await signUp(stack.api.graphqlUrl);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await topology?.stop();
  });

  it('finds the master through the sentinels; across a failover no beat, chunk or subscription is lost', async () => {
    const before = await topology.masterPort();
    const result = await failoverUnderLoad(stack, user, async () => {
      await topology.killMaster();
      for (let i = 0; i < 200 && (await topology.masterPort()) === before; i++) await new Promise((r) => setTimeout(r, 100));
    });
    expect(await topology.masterPort()).not.toBe(before);
    expectNothingLost('sentinel', result);
    // The api's subscriber was on the master that died: every socket was closed (1012) and resumed.
    expect(result.progressResubscribed).toBeGreaterThan(0);
    // And a new beat after the failover, on the promoted master.
    const after = await gql(
      stack.api.graphqlUrl,
      'mutation { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", durationSec: 5 }) { id } }',
      {},
      user.token,
    );
    expect((await waitFor(stack.api, user.token, after.data.generateBeat.id, undefined, 30_000)).status).toBe('COMPLETED');
  }, 240_000);
});
