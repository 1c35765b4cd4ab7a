/**
 * Faults that heal (issue 13): the reconciler goes by each stuck generation's job *state*, through
 * every row a page at a time; a retry of a cancelled generation that is still running is a new run
 * with its own job, and the old run's job changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERATION_QUEUE, generationJobId, generationJobOptions, queuePrefix } from '../../src/jobs/generation-job.js';
import { createRedis, redisTarget } from '../../src/redis.js';
import { gql, rawId, signUp, type TestUser, testConfig, until } from '../helpers/harness.js';
import { queueFor, type Stack, startStack, waitFor } from '../helpers/stack.js';

const GENERATE = 'mutation($input: GenerateBeatInput!) { generateBeat(input: $input) { id } }';

describe('the reconciler', () => {
  let stack: Stack;
  let user: TestUser;
  beforeAll(async () => {
    // Not started until the last test: until then jobs only run when a test says so (reconcile() works on
    // a worker that is not taking jobs).
    stack = await startStack({}, {}, { worker: false });
    user = await signUp(stack.api.graphqlUrl);
  });
  afterAll(() => stack.stop());

  /** A stuck PENDING row, untouched for an hour. */
  async function stuck(data: { type?: 'BEAT' | 'MIX'; input?: object } = {}) {
    const row = await stack.api.app.prisma.generation.create({
      data: { userId: rawId(user.id), type: data.type ?? 'BEAT', input: data.input ?? {}, status: 'PENDING' },
    });
    await stack.api.app.prisma
      .$executeRaw`UPDATE generations SET updated_at = now() - interval '1 hour' WHERE id = ${row.id}::uuid`;
    return row;
  }

  /** Takes the row's job as a worker would and ends it by hand: failed (as after its last attempt) or completed. */
  async function endJob(row: { id: string; run: number; priority: number; userId: string }, how: 'failed' | 'completed') {
    const { queue, close } = queueFor(stack);
    // One attempt: ending it ends the job for good, as a last attempt does.
    await queue.add(
      'BEAT',
      { generationId: row.id, userId: row.userId, type: 'BEAT', run: row.run },
      { ...generationJobOptions(row), attempts: 1 },
    );
    const connection = createRedis(redisTarget(testConfig(stack.env)), stack.api.app.log, 'test-manual', {
      maxRetriesPerRequest: null,
    });
    const manual = new Worker(GENERATION_QUEUE, null, { connection, prefix: queuePrefix(stack.env.REDIS_PREFIX as string) });
    const token = randomUUID();
    const job = await manual.getNextJob(token);
    expect(job?.id).toBe(generationJobId(row.id, row.run));
    if (how === 'failed') await job?.moveToFailed(new Error('job stalled more than allowable limit'), token, false);
    else await job?.moveToCompleted('done', token, false);
    await manual.close();
    connection.disconnect();
    await close();
  }

  it('fails a row whose job failed for good (its last write was lost), with the reason', async () => {
    const row = await stuck();
    await endJob(row, 'failed');
    const outcome = await stack.worker.reconcile();
    expect(outcome.failed).toBeGreaterThanOrEqual(1);
    const after = await stack.api.app.prisma.generation.findUniqueOrThrow({ where: { id: row.id } });
    expect(after).toMatchObject({ status: 'FAILED', error: 'WORKER_LOST: the worker stopped while making it, retry' });
  });

  it('reads every stuck row, page after page (1,100 rows, pages of 500), and queues each once', async () => {
    const userId = rawId(user.id);
    await stack.api.app.prisma.$executeRaw`
      INSERT INTO generations (id, user_id, type, input, status, updated_at, priority)
      SELECT gen_random_uuid(), ${userId}::uuid, 'MIX', '{}'::jsonb, 'PENDING', now() - interval '1 hour' - (n || ' seconds')::interval, 1
      FROM generate_series(1, 1100) AS n`;
    const outcome = await stack.worker.reconcile();
    expect(outcome.requeued).toBe(1100);
    const { queue, close } = queueFor(stack);
    const counts = await queue.getJobCounts('waiting', 'prioritized');
    expect((counts.waiting ?? 0) + (counts.prioritized ?? 0)).toBe(1100);
    // A second pass finds their jobs waiting and queues nothing more.
    expect((await stack.worker.reconcile()).requeued).toBe(0);
    await queue.obliterate({ force: true });
    await close();
    await stack.api.app.prisma.generation.deleteMany({ where: { userId, type: 'MIX' } });
  }, 60_000);
  it('runs again, as a new run, a row whose job completed without its result reaching the row', async () => {
    const row = await stuck({ input: { genre: 'lofi', bpm: 90, key: 'A minor', mood: 'mellow', durationSec: 5, seed: 1 } });
    await endJob(row, 'completed');
    const outcome = await stack.worker.reconcile();
    expect(outcome.requeued).toBeGreaterThanOrEqual(1);
    expect((await stack.api.app.prisma.generation.findUniqueOrThrow({ where: { id: row.id } })).run).toBe(1);
    await stack.worker.start();
    const done = await waitFor(stack.api, user.token, Buffer.from(`Generation:${row.id}`).toString('base64'));
    expect(done.status).toBe('COMPLETED');
  }, 60_000);
});

describe('retrying a cancelled generation that is still running', () => {
  let stack: Stack;
  let user: TestUser;
  let release: () => void = () => {};
  const runs: number[] = [];
  beforeAll(async () => {
    stack = await startStack(
      {},
      {
        // A beat that holds at its first stage until the test lets it go.
        BEAT: async (generation, report) => {
          runs.push(generation.run);
          if (generation.run === 0) await new Promise<void>((r) => (release = r));
          await report('drums', 10);
          return {
            format: 'mp3',
            files: { mp3: 'x.mp3', wav: 'x.wav', midi: null, stems: [] },
            durationSec: 5,
            loudnessLufs: -14,
            truePeakDb: -1,
            targetLufs: -14,
          };
        },
      },
    );
    user = await signUp(stack.api.graphqlUrl);
  });
  afterAll(() => stack.stop());

  it('runs it again at once as a new run; the old run stops at its next stage and changes nothing', async () => {
    const res = await gql(
      stack.api.graphqlUrl,
      GENERATE,
      { input: { genre: 'lofi', bpm: 90, key: 'Am', durationSec: 5 } },
      user.token,
    );
    const id = res.data.generateBeat.id as string;
    await until(async () => runs.length === 1, 10_000);
    const cancel = await gql(
      stack.api.graphqlUrl,
      'mutation($id: ID!) { cancelGeneration(id: $id) { status } }',
      { id },
      user.token,
    );
    expect(cancel.data.cancelGeneration.status).toBe('CANCELLED');
    const retry = await gql(
      stack.api.graphqlUrl,
      'mutation($id: ID!) { retryGeneration(id: $id) { status } }',
      { id },
      user.token,
    );
    expect(retry.data.retryGeneration.status).toBe('PENDING');
    // The new run completes while the old one is still held (WORKER_CONCURRENCY 2).
    const done = await waitFor(stack.api, user.token, id, (s) => s.status === 'COMPLETED', 15_000);
    expect(done.status).toBe('COMPLETED');
    expect(runs).toEqual([0, 1]);
    release();
    await new Promise((r) => setTimeout(r, 500));
    const row = await stack.api.app.prisma.generation.findUniqueOrThrow({ where: { id: rawId(id) } });
    expect(row).toMatchObject({ status: 'COMPLETED', run: 1, stage: 'done', progress: 100 });
  }, 30_000);
});
