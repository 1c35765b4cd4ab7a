/**
 * A storage outage is waited out (issue 13): with the S3 server stopped, a beat waits ("waiting for
 * storage", retried with backoff) instead of failing after a few seconds, and completes once the
 * server is back, within GENERATION_DEADLINE_MS. Real S3 calls against s3rver on loopback.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, gql, signUp } from '../helpers/harness.js';
import { type Stack, startStack, waitFor } from '../helpers/stack.js';

describe('a storage outage', () => {
  let dir: string;
  let port: number;
  let s3: S3rver | null = null;
  let stack: Stack;
  const startS3 = async () => {
    s3 = new S3rver({
      port,
      address: '127.0.0.1',
      directory: dir,
      silent: true,
      configureBuckets: [{ name: 'dawg-outage', configs: [] }],
    });
    await s3.run();
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dawg-s3-outage-'));
    port = await freePort();
    await startS3();
    stack = await startStack({
      STORAGE_DRIVER: 's3',
      S3_BUCKET: 'dawg-outage',
      S3_REGION: 'us-east-1',
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      GENERATION_DEADLINE_MS: '60000',
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('waits for storage, then every beat completes when it is back (stopped for 20 s)', async () => {
    const user = await signUp(stack.api.graphqlUrl);
    await s3?.close();
    const stopped = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await gql(
        stack.api.graphqlUrl,
        'mutation { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", durationSec: 5 }) { id } }',
        {},
        user.token,
      );
      ids.push(res.data.generateBeat.id as string);
    }
    const waiting = await waitFor(stack.api, user.token, ids[0] as string, (s) => s.stage === 'waiting for storage', 20_000);
    expect(waiting.status).toBe('PENDING');
    expect(waiting.error).toMatch(
      /^STORAGE_UNAVAILABLE: could not store the audio, retry later \(attempt \d+, trying again until /,
    );
    await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - stopped))));
    for (const id of ids) expect((await waitFor(stack.api, user.token, id, () => true)).status).not.toBe('FAILED');
    await startS3();
    const done = await Promise.all(
      ids.map((id) => waitFor(stack.api, user.token, id, (s) => s.status === 'COMPLETED' || s.status === 'FAILED', 60_000)),
    );
    expect(done.map((d) => d.status)).toEqual(ids.map(() => 'COMPLETED'));
    expect(done[0]?.attempts).toBeGreaterThan(1);
    for (const d of done) expect((await fetch(d.output?.audioUrl as string)).status).toBe(200);
  }, 120_000);
});
