/**
 * The worker's own port (issue 11, observability): /health, /ready and /metrics, and the job and
 * queue metrics a real beat leaves there, a failing one (a broken storage directory) and a stalled
 * one (its worker SIGKILLed mid-job).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERATION_QUEUE } from '../../src/jobs/generation-job.js';
import { buildWorker } from '../../worker/worker.js';
import { gql, signUp, testConfig, type TestUser, until } from '../helpers/harness.js';
import { exportedNames, sample, scrape } from '../helpers/metrics.js';
import { spawnWorker } from '../helpers/process.js';
import { beatDone, type Stack, startStack, waitFor } from '../helpers/stack.js';

let stack: Stack;
let user: TestUser;
let workerUrl: string;
beforeAll(async () => {
  // Its own database: the reconciler must not bring in other files' generations (the job counts are exact).
  // The workers built from its env give back their engines' memory 1.5 s after a job's last task.
  stack = await startStack({ HEAP_TRIM_IDLE_MS: '1500' });
  user = await signUp(stack.api.graphqlUrl);
  workerUrl = stack.worker.url() as string;
});
afterAll(() => stack.stop());

describe('the worker endpoints', () => {
  it('answers /health and /ready when connected, and 404 elsewhere', async () => {
    expect(workerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${workerUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${workerUrl}/ready`);
    expect(await ready.json()).toEqual({ status: 'ready', database: 'ok', redis: 'ok', queue: 'ok', shuttingDown: false });
    expect(ready.status).toBe(200);
    expect((await fetch(`${workerUrl}/graphql`)).status).toBe(404);
  });

  it('is alive but not ready while the database cannot be reached', async () => {
    const env = { ...stack.env, DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/nowhere' };
    const worker = buildWorker(testConfig(env));
    const starting = worker.start();
    try {
      await until(() => worker.url() !== null);
      const url = worker.url() as string;
      expect((await fetch(`${url}/health`)).status).toBe(200);
      const ready = await fetch(`${url}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'not ready', database: 'unavailable', queue: 'unavailable' });
    } finally {
      await worker.stop();
      await starting;
    }
  });

  it('puts /metrics behind METRICS_TOKEN when it is set', async () => {
    const token = 'a-metrics-token-of-some-length';
    const worker = buildWorker(testConfig({ ...stack.env, METRICS_TOKEN: token }));
    await worker.start();
    try {
      const url = worker.url() as string;
      expect((await fetch(`${url}/metrics`)).status).toBe(401);
      expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token!' } })).status).toBe(401);
      expect(await scrape(url, token)).toContain('dawg_queue_jobs');
    } finally {
      await worker.stop();
    }
  });
});

describe('the worker metrics after a beat', () => {
  let text: string;
  beforeAll(async () => {
    const done = await beatDone(stack.api, user.token, { mood: 'mellow', durationSec: 20 });
    expect(done.status).toBe('COMPLETED');
    text = await scrape(workerUrl);
  }, 60_000);

  it('reports the queue depth by state', () => {
    for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed'])
      expect(sample(text, 'dawg_queue_jobs', { queue: GENERATION_QUEUE, state }), state).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'dawg_queue_jobs', { queue: GENERATION_QUEUE, state: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'dawg_queue_jobs', { queue: GENERATION_QUEUE, state: 'active' })).toBe(0);
  });

  it('times the job, each stage, and the render speed', () => {
    const count = sample(text, 'dawg_job_duration_seconds_count', { type: 'BEAT', outcome: 'completed' });
    const sum = sample(text, 'dawg_job_duration_seconds_sum', { type: 'BEAT', outcome: 'completed' }) as number;
    expect(count).toBe(1);
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(60);
    let stages = 0;
    for (const stage of ['starting', 'composing', 'drums', 'bass', 'melody', 'mixing', 'mastering', 'encoding', 'uploading']) {
      expect(sample(text, 'dawg_job_stage_duration_seconds_count', { type: 'BEAT', stage }), stage).toBe(1);
      stages += sample(text, 'dawg_job_stage_duration_seconds_sum', { type: 'BEAT', stage }) as number;
    }
    // The stages cover the attempt from PROCESSING to the end: their sum is the job's time, give or take.
    expect(stages).toBeLessThanOrEqual(sum + 0.01);
    expect(stages).toBeGreaterThan(sum * 0.8);
    expect(sample(text, 'dawg_job_stage_duration_seconds_count', { stage: 'other' })).toBeUndefined();
    const speed = sample(text, 'dawg_job_render_speed_ratio_sum', { type: 'BEAT' }) as number;
    expect(sample(text, 'dawg_job_render_speed_ratio_count', { type: 'BEAT' })).toBe(1);
    // 20 s asked at 90 bpm renders whole bars: 8 bars, 21.3 s of audio, in `sum` seconds.
    const audioSec = (Math.ceil((20 * 90) / 60 / 4) * 4 * 60) / 90;
    expect(speed).toBeCloseTo(audioSec / sum, 0);
    expect(speed).toBeGreaterThan(0.5);
  });

  it('declares failures and stalls, with no series before any happens', () => {
    const names = exportedNames(text);
    for (const name of ['dawg_job_failures_total', 'dawg_jobs_stalled_total', 'dawg_memory_limit_bytes'])
      expect(names.has(name), name).toBe(true);
    expect(sample(text, 'dawg_job_failures_total')).toBeUndefined();
    expect(sample(text, 'dawg_memory_limit_bytes')).toBeGreaterThan(64 * 1024 * 1024);
    expect(sample(text, 'dawg_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it("counts the engine's releases: the warm-up's, then one after the job's quiet spell", async () => {
    // The warm-up's release ran before the worker took jobs; the beat's, 1.5 s after its last task.
    expect(sample(text, 'dawg_engine_releases_total')).toBeGreaterThanOrEqual(1);
    let after = text;
    await until(async () => {
      after = await scrape(workerUrl);
      return (sample(after, 'dawg_engine_releases_total') as number) >= 2;
    }, 15_000);
    // The process's RSS fell in at least one of them (a warm-up's or a 20 s beat's buffers are tens of MiB).
    expect(sample(after, 'dawg_engine_released_bytes_total')).toBeGreaterThan(0);
  }, 20_000);
});

describe('the worker metrics when a job fails', () => {
  // The worker below takes the jobs.
  beforeAll(() => stack.worker.stop());

  it('counts each failed attempt by type and failure code', async () => {
    // A regular file where the storage directory should be: every upload fails (STORAGE_UNAVAILABLE),
    // waited out until a 5 s deadline.
    const brokenDir = join(stack.storageDir, 'not-a-directory');
    await writeFile(brokenDir, 'x');
    const worker = buildWorker(testConfig({ ...stack.env, STORAGE_DIR: brokenDir, GENERATION_DEADLINE_MS: '5000' }));
    await worker.start();
    try {
      const failed = await beatDone(stack.api, user.token);
      expect(failed.status).toBe('FAILED');
      expect(failed.error).toBe('STORAGE_UNAVAILABLE: could not store the audio, retry later');
      expect(failed.attempts).toBeGreaterThanOrEqual(2);
      const text = await scrape(worker.url() as string);
      const failures = (code: string) => sample(text, 'dawg_job_failures_total', { type: 'BEAT', code });
      expect(failures('STORAGE_UNAVAILABLE')).toBe(failed.attempts);
      expect(sample(text, 'dawg_job_duration_seconds_count', { type: 'BEAT', outcome: 'failed' })).toBe(failed.attempts);
      expect(failures('other')).toBeUndefined();
    } finally {
      await worker.stop();
    }
  }, 60_000);
});

describe('the worker metrics when a job stalls', () => {
  // A stack of its own, with a 2 s lock from the start: BullMQ checks a queue for stalled jobs at most
  // once per check interval of the last worker that checked it, and a 30 s worker would delay it.
  let stalls: Stack;
  let owner: TestUser;
  beforeAll(async () => {
    stalls = await startStack({ WORKER_LOCK_MS: '2000', WORKER_CONCURRENCY: '1' }, {}, { worker: false });
    owner = await signUp(stalls.api.graphqlUrl);
  });
  afterAll(() => stalls.stop());

  it('counts a job whose worker was SIGKILLed mid-job as stalled, and another worker completes it', async () => {
    const first = await spawnWorker({ ...stalls.env, LOG_LEVEL: 'info' });
    const second = buildWorker(testConfig(stalls.env));
    try {
      const res = await gql(
        stalls.api.graphqlUrl,
        'mutation { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", durationSec: 30 }) { id } }',
        {},
        owner.token,
      );
      expect(res.errors).toBeUndefined();
      const id = res.data.generateBeat.id as string;
      await waitFor(stalls.api, owner.token, id, (s) => s.status === 'PROCESSING' && s.progress >= 5);
      expect(await first.kill('SIGKILL')).toBeNull();
      // Started after the kill, so the job it finds is the dead worker's, still active with an expiring lock.
      await second.start();
      const url = second.url() as string;
      const stalled = async () => sample(await scrape(url), 'dawg_jobs_stalled_total', { queue: GENERATION_QUEUE });
      await until(async () => (await stalled()) === 1, 20_000);
      const done = await waitFor(stalls.api, owner.token, id, undefined, 40_000);
      expect(done.status).toBe('COMPLETED');
      const text = await scrape(url);
      expect(sample(text, 'dawg_jobs_stalled_total', { queue: GENERATION_QUEUE })).toBe(1);
      // A first stall moves the job back to waiting: no attempt failed.
      expect(sample(text, 'dawg_job_failures_total')).toBeUndefined();
    } finally {
      await first.kill();
      await second.stop();
    }
  }, 60_000);
});
