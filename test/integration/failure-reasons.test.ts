/**
 * What a client reads when a generation fails: a stable `CODE: sentence` from
 * src/failures.ts, never the raw error (pg's "relation … does not exist", a
 * file path and ENOTDIR from the storage directory). The raw cause is logged
 * with the generation id. Real failures: a broken storage directory under the
 * real engine, and a query PostgreSQL rejects.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAILURE_CODES } from '../../src/failures.js';
import { freePort, gql, signUp, type TestUser, testConfig, rawId } from '../helpers/harness.js';
import { queueFor, type Stack, startStack, waitFor } from '../helpers/stack.js';
import { defaultHandlers } from '../../worker/processor.js';
import { buildWorker } from '../../worker/worker.js';

const GENERATE = 'mutation($input: GenerateBeatInput!) { generateBeat(input: $input) { id status } }';
const globalId = (id: string) => Buffer.from(`Generation:${id}`).toString('base64');
const MISSING_TABLE = 'no_such_table_for_failure_reasons';

/** Every client-visible reason starts with one of the closed set of codes. */
function expectStableReason(error: string | null) {
  const code = error?.match(/^([A-Z_]+): /)?.[1];
  expect(FAILURE_CODES).toContain(code);
}

describe('failure reasons', () => {
  let stack: Stack;
  let user: TestUser;
  let worker: ReturnType<typeof buildWorker>;
  let brokenDir: string;
  const logs: string[] = [];

  beforeAll(async () => {
    stack = await startStack();
    await stack.worker.stop(); // the worker below, with a broken storage directory, takes the jobs
    // A regular file where the storage directory should be: every write fails with ENOTDIR and the path.
    brokenDir = join(stack.storageDir, 'not-a-directory');
    await writeFile(brokenDir, 'x');
    const log = pino({ level: 'warn' }, { write: (line: string) => void logs.push(line) });
    // A storage outage is waited out until the deadline (10 min by default; 5 s here).
    worker = buildWorker(testConfig({ ...stack.env, STORAGE_DIR: brokenDir, GENERATION_DEADLINE_MS: '5000' }), {
      log,
      handlers: {
        ...defaultHandlers,
        // A query PostgreSQL rejects, as a job would meet a database error.
        MIX: async (_g, _report, deps) => {
          await deps.prisma.$queryRawUnsafe(`SELECT * FROM ${MISSING_TABLE}`);
          throw new Error('unreachable');
        },
      },
    });
    await worker.start();
    user = await signUp(stack.api.graphqlUrl);
  });
  afterAll(async () => {
    await worker?.stop();
    await stack?.stop();
  });

  it('a storage failure is waited out until the deadline, reading STORAGE_UNAVAILABLE; the path and errno are only logged', async () => {
    const res = await gql(
      stack.api.graphqlUrl,
      GENERATE,
      { input: { genre: 'lofi', bpm: 90, key: 'Am', durationSec: 5 } },
      user.token,
    );
    expect(res.errors).toBeUndefined();
    const id = res.data.generateBeat.id as string;
    const retrying = await waitFor(
      stack.api,
      user.token,
      id,
      (s) => s.stage === 'waiting for storage' || s.status === 'FAILED',
      30_000,
    );
    expect(retrying.stage).toBe('waiting for storage');
    expect(retrying.error).toMatch(
      /^STORAGE_UNAVAILABLE: could not store the audio, retry later \(attempt 1, trying again until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$/,
    );
    const failed = await waitFor(stack.api, user.token, id, (s) => s.status === 'FAILED', 30_000);
    // Attempts at 0 s and 2 s; the next (after 4 s more) would start past the 5 s deadline.
    expect(failed).toMatchObject({ attempts: 2, error: 'STORAGE_UNAVAILABLE: could not store the audio, retry later' });
    for (const e of [retrying.error, failed.error]) {
      expectStableReason(e);
      expect(e).not.toMatch(/ENOTDIR|not a directory|\/tmp|dawg-storage|not-a-directory/i);
    }
    const logged = logs.filter((l) => l.includes(rawId(id)));
    expect(logged.some((l) => /ENOTDIR/.test(l) && l.includes('not-a-directory'))).toBe(true);
  }, 60_000);

  it('a database error reads DATABASE_UNAVAILABLE; the SQL and relation name are only logged', async () => {
    const row = await stack.api.app.prisma.generation.create({
      data: { userId: rawId(user.id), type: 'MIX', input: {}, status: 'PENDING' },
    });
    const { queue, close } = queueFor(stack);
    await queue.add('MIX', { generationId: row.id, userId: row.userId, type: 'MIX' }, { jobId: row.id, attempts: 1 });
    await close();
    const failed = await waitFor(stack.api, user.token, globalId(row.id), (s) => s.status === 'FAILED', 30_000);
    expect(failed.error).toBe('DATABASE_UNAVAILABLE: the database did not answer, retry later');
    expect(failed.error).not.toContain(MISSING_TABLE);
    expect(logs.some((l) => l.includes(row.id) && l.includes(MISSING_TABLE))).toBe(true);
  }, 60_000);
});

describe('failure reasons with S3', () => {
  const BUCKET = 'dawg-bucket-that-is-not-there';
  let stack: Stack;
  let s3: S3rver;
  let s3Dir: string;
  let worker: ReturnType<typeof buildWorker>;
  const logs: string[] = [];

  beforeAll(async () => {
    s3Dir = await mkdtemp(join(tmpdir(), 'dawg-s3-'));
    const port = await freePort();
    s3 = new S3rver({ port, address: '127.0.0.1', directory: s3Dir, silent: true });
    await s3.run();
    stack = await startStack({}, {}, { worker: false });
    const s3Env = {
      STORAGE_DRIVER: 's3',
      S3_BUCKET: BUCKET,
      S3_REGION: 'us-east-1',
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
    };
    const log = pino({ level: 'warn' }, { write: (line: string) => void logs.push(line) });
    worker = buildWorker(testConfig({ ...stack.env, ...s3Env, GENERATION_DEADLINE_MS: '5000' }), { log });
    await worker.start();
  });
  afterAll(async () => {
    await worker?.stop();
    await stack?.stop();
    await s3?.close();
    await rm(s3Dir, { recursive: true, force: true });
  });

  it('an S3 error (no such bucket) reads STORAGE_UNAVAILABLE; the bucket and S3 code are only logged', async () => {
    const user = await signUp(stack.api.graphqlUrl);
    const res = await gql(
      stack.api.graphqlUrl,
      GENERATE,
      { input: { genre: 'techno', bpm: 128, key: 'Dm', durationSec: 5 } },
      user.token,
    );
    const id = res.data.generateBeat.id as string;
    const failed = await waitFor(stack.api, user.token, id, (s) => s.status === 'FAILED', 45_000);
    expect(failed.error).toBe('STORAGE_UNAVAILABLE: could not store the audio, retry later');
    expect(failed.error).not.toMatch(/NoSuchBucket|bucket|127\.0\.0\.1/i);
    expect(logs.some((l) => l.includes(rawId(id)) && /NoSuchBucket|does not exist/.test(l))).toBe(true);
  }, 60_000);
});
