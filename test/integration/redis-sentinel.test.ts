/**
 * dawg on Redis Sentinel (issue 13): a master, a replica and three sentinels from Debian's
 * redis-server (scripts/topology/redis-sentinel.ts). The api and worker find the master through the
 * sentinels; the master is SIGKILLed while beats are generating; the sentinels promote the replica
 * and every beat still completes, with a progress subscription opened before the failover following
 * its beat to the end.
 */
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSentinelTopology, type SentinelTopology } from '../../scripts/topology/redis-sentinel.js';
import { collect, gql, signUp, type TestUser, wsClient } from '../helpers/harness.js';
import { type Stack, startStack, waitFor } from '../helpers/stack.js';

describe('Redis Sentinel', () => {
  let topology: SentinelTopology;
  let stack: Stack;
  let user: TestUser;

  beforeAll(async () => {
    topology = await startSentinelTopology(7000 + randomInt(2000));
    stack = await startStack({ ...topology.env, WORKER_LOCK_MS: '3000' });
    user = await signUp(stack.api.graphqlUrl);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await topology?.stop();
  });

  it('finds the master through the sentinels, and every beat completes across a failover', async () => {
    const before = await topology.masterPort();
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await gql(
        stack.api.graphqlUrl,
        'mutation($d: Int!) { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", durationSec: $d }) { id } }',
        { d: 10 },
        user.token,
      );
      expect(res.errors).toBeUndefined();
      ids.push(res.data.generateBeat.id);
    }
    // The last beat is followed from before the failover to its end.
    const ws = wsClient(stack.api.wsUrl, user.token);
    const progress = collect(
      ws.client,
      'subscription($id: ID!) { generationProgress(id: $id) { percent generation { status } } }',
      {
        id: ids.at(-1),
      },
    );
    await progress.nth(1);
    await waitFor(stack.api, user.token, ids[0] as string, (s) => s.status === 'COMPLETED', 30_000);
    await topology.killMaster();
    for (let i = 0; i < 200 && (await topology.masterPort()) === before; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await topology.masterPort()).not.toBe(before);

    const states = await Promise.all(ids.map((id) => waitFor(stack.api, user.token, id, undefined, 120_000)));
    expect(states.map((s) => s.status)).toEqual(ids.map(() => 'COMPLETED'));
    const last = progress.events.at(-1) as { generationProgress: { percent: number; generation: { status: string } } };
    for (let i = 0; i < 100 && last?.generationProgress.generation.status !== 'COMPLETED'; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const final = progress.events.at(-1) as { generationProgress: { percent: number; generation: { status: string } } };
    expect(final.generationProgress).toMatchObject({ percent: 100, generation: { status: 'COMPLETED' } });
    ws.client.dispose();
    // And a new beat after the failover, on the promoted master.
    const after = await gql(
      stack.api.graphqlUrl,
      'mutation { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", durationSec: 5 }) { id } }',
      {},
      user.token,
    );
    expect((await waitFor(stack.api, user.token, after.data.generateBeat.id, undefined, 30_000)).status).toBe('COMPLETED');
  }, 180_000);
});
