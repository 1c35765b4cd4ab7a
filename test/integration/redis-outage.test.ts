/**
 * Answer fast while Redis is down (issue 13): queries, and mutations that queue work, answer within
 * 2 s: a generation is accepted as PENDING, its stage saying it waits for the queue, and runs once
 * Redis is back; /ready names Redis as what is down. A redis-server of this test's own is killed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, gql, type RunningApp, signUp, startApp, type TestUser } from '../helpers/harness.js';
import { createOwnDatabase } from '../helpers/database.js';
import { startRedisServer } from '../helpers/process.js';
import { waitFor } from '../helpers/stack.js';
import { buildWorker } from '../../worker/worker.js';
import { testConfig } from '../helpers/harness.js';

describe('while Redis is down', () => {
  let redisPort: number;
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let database: Awaited<ReturnType<typeof createOwnDatabase>>;
  let api: RunningApp;
  let user: TestUser;
  let env: Record<string, string>;

  beforeAll(async () => {
    redisPort = await freePort();
    redis = await startRedisServer(redisPort);
    database = await createOwnDatabase();
    // A short lock period: the worker's reconciler looks at rows untouched for two of them.
    env = { REDIS_URL: redis.url, DATABASE_URL: database.url, WORKER_PORT: '0', WORKER_LOCK_MS: '2000' };
    api = await startApp(env);
    user = await signUp(api.graphqlUrl);
  });
  afterAll(async () => {
    await api?.stop();
    await redis?.kill();
    await database?.drop();
  });

  const timed = async <T>(fn: () => Promise<T>) => {
    const t0 = performance.now();
    const value = await fn();
    return { value, ms: performance.now() - t0 };
  };

  it('answers queries and generateBeat within 2 s, accepts the beat as PENDING, and runs it when Redis is back', async () => {
    await redis.kill();
    const me = await timed(() => gql(api.graphqlUrl, '{ me { id } }', {}, user.token));
    expect(me.value.data?.me.id).toBe(user.id);
    expect(me.ms).toBeLessThan(2000);
    const beat = await timed(() =>
      gql(
        api.graphqlUrl,
        'mutation { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", durationSec: 5 }) { id status stage } }',
        {},
        user.token,
      ),
    );
    expect(beat.ms).toBeLessThan(2000);
    expect(beat.value.errors).toBeUndefined();
    expect(beat.value.data.generateBeat).toMatchObject({ status: 'PENDING', stage: 'waiting for queue' });
    const ready = await fetch(`${api.url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ redis: 'unavailable', database: 'ok' });

    redis = await startRedisServer(redisPort);
    const worker = buildWorker(testConfig(env));
    await worker.start();
    try {
      const done = await waitFor(api, user.token, beat.value.data.generateBeat.id, undefined, 60_000);
      expect(done.status).toBe('COMPLETED');
    } finally {
      await worker.stop();
    }
  }, 120_000);
});
