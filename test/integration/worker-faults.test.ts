import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, signUp, type TestUser, until, rawId } from '../helpers/harness.js';
import { spawnWorker, startRedisServer } from '../helpers/process.js';
import { queueFor, type Stack, startStack, waitFor } from '../helpers/stack.js';

const GENERATE = 'mutation($input: GenerateBeatInput!) { generateBeat(input: $input) { id status } }';

async function beat(stack: Stack, user: TestUser, durationSec: number) {
  const res = await gql(
    stack.api.graphqlUrl,
    GENERATE,
    { input: { genre: 'lofi', bpm: 90, key: 'Am', durationSec } },
    user.token,
  );
  expect(res.errors).toBeUndefined();
  return res.data.generateBeat.id as string;
}

describe('a failing engine', () => {
  let stack: Stack;
  let user: TestUser;
  /**
   * The generations the engine was called for. The test database is shared with the other files, and
   * this worker's reconcile queues every stale PENDING generation it finds there: count this test's own.
   */
  const calls: string[] = [];
  beforeAll(async () => {
    stack = await startStack(
      {},
      {
        BEAT: async (generation) => {
          calls.push(generation.id);
          throw new Error('oscillator exploded');
        },
      },
    );
    user = await signUp(stack.api.graphqlUrl);
  });
  afterAll(() => stack.stop());

  it('is retried three times with backoff, then the generation is FAILED with a stable reason', async () => {
    const id = await beat(stack, user, 5);
    const failed = await waitFor(stack.api, user.token, id, (s) => s.status === 'FAILED', 30_000);
    // The exception's text ("oscillator exploded") is logged, not shown.
    expect(failed).toMatchObject({
      status: 'FAILED',
      attempts: 3,
      error: 'ENGINE_FAILED: the audio engine could not make it',
      output: null,
    });
    expect(calls.filter((g) => g === rawId(id))).toHaveLength(3);
  });

  it('fails a job whose payload is invalid, at once', async () => {
    const row = await stack.api.app.prisma.generation.create({
      data: { userId: rawId(user.id), type: 'BEAT', input: {}, status: 'PENDING' },
    });
    const { queue, close } = queueFor(stack);
    await queue.add('BEAT', { generationId: row.id, userId: 'not-a-uuid', type: 'SING' } as never, {
      jobId: row.id,
      attempts: 3,
    });
    await close();
    const id = Buffer.from(`Generation:${row.id}`).toString('base64');
    const state = await waitFor(stack.api, user.token, id, (s) => s.status === 'FAILED', 20_000);
    expect(state).toMatchObject({ error: 'INVALID_INPUT: the job could not be read', attempts: 0 });
  });
});

describe('the real engine with bad stored input', () => {
  let stack: Stack;
  let user: TestUser;
  beforeAll(async () => {
    stack = await startStack();
    user = await signUp(stack.api.graphqlUrl);
  });
  afterAll(() => stack.stop());

  it('marks it FAILED after one attempt with the rule that failed', async () => {
    const row = await stack.api.app.prisma.generation.create({
      data: { userId: rawId(user.id), type: 'BEAT', input: { genre: 'lofi', bpm: 1000, key: 'Am', seed: 1 }, status: 'PENDING' },
    });
    const { queue, close } = queueFor(stack);
    await queue.add('BEAT', { generationId: row.id, userId: row.userId, type: 'BEAT' }, { jobId: row.id, attempts: 3 });
    await close();
    const state = await waitFor(stack.api, user.token, Buffer.from(`Generation:${row.id}`).toString('base64'), undefined, 20_000);
    expect(state).toMatchObject({ status: 'FAILED', attempts: 1, error: 'INVALID_INPUT: bpm: must be at most 220' });
  });
});

describe('a worker killed mid-job', () => {
  it('has its job picked up by another worker, which completes it', async () => {
    const stack = await startStack({ WORKER_LOCK_MS: '2000', WORKER_CONCURRENCY: '1' });
    await stack.worker.stop(); // only the child workers below take jobs
    const user = await signUp(stack.api.graphqlUrl);
    const first = await spawnWorker({ ...stack.env, LOG_LEVEL: 'info' });
    let second: Awaited<ReturnType<typeof spawnWorker>> | null = null;
    try {
      const id = await beat(stack, user, 60);
      await waitFor(stack.api, user.token, id, (s) => s.status === 'PROCESSING' && s.progress >= 5);
      expect(await first.kill('SIGKILL')).toBeNull();
      second = await spawnWorker({ ...stack.env, LOG_LEVEL: 'info' });
      const done = await waitFor(stack.api, user.token, id, undefined, 60_000);
      expect(done.status).toBe('COMPLETED');
      // 60 s asked for at 90 bpm: 23 whole bars, 61.33 s.
      expect(Math.abs((done.output?.durationSec ?? 0) - 61.33)).toBeLessThan(0.5);
    } finally {
      await first.kill();
      await second?.kill();
      await stack.api.stop();
    }
    // Two worker processes start (tsx) and a 60 s beat renders after the lock expires: more than the default 30 s on a busy machine.
  }, 90_000);
});

describe('a Redis restart', () => {
  const port = 16_000 + Math.floor(Math.random() * 1000);
  let redis: Awaited<ReturnType<typeof startRedisServer>> | null = null;
  const startRedis = async () => {
    redis = await startRedisServer(port);
  };
  const killRedis = async () => {
    await redis?.kill();
  };
  afterAll(killRedis);

  it('is ridden out: api and worker reconnect and every generation completes, even one requested while Redis was down', {
    timeout: 120_000,
  }, async () => {
    await startRedis();
    const stack = await startStack({ REDIS_URL: `redis://127.0.0.1:${port}`, WORKER_LOCK_MS: '2000' });
    try {
      const user = await signUp(stack.api.graphqlUrl);
      const running = await beat(stack, user, 30);
      await waitFor(stack.api, user.token, running, (s) => s.status !== 'PENDING');
      await killRedis(); // loses every key: the queue is gone
      await until(async () => (await fetch(`${stack.api.url}/ready`)).status === 503);
      const during = await gql(
        stack.api.graphqlUrl,
        GENERATE,
        { input: { genre: 'techno', bpm: 128, key: 'Dm', durationSec: 5 } },
        user.token,
      );
      expect(during.data.generateBeat.status).toBe('PENDING');
      await startRedis();
      await until(async () => (await fetch(`${stack.api.url}/ready`)).status === 200, 15_000);
      for (const id of [running, during.data.generateBeat.id]) {
        expect((await waitFor(stack.api, user.token, id, undefined, 60_000)).status).toBe('COMPLETED');
      }
    } finally {
      await stack.stop();
    }
  });
});
