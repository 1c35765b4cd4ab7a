import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Storage } from '../../src/storage/s3-storage.js';
import { freePort } from '../helpers/harness.js';

/**
 * The s3 driver with the real AWS SDK against s3rver, an S3-compatible server on loopback.
 * (s3rver does not verify presigned signatures, so refusing a tampered URL is S3's own job and
 * is not tested here; the local driver's refusal is, in generation.test.ts.)
 */
describe('S3 storage', () => {
  let server: S3rver;
  let dir: string;
  let storage: S3Storage;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dawg-s3-'));
    const port = await freePort();
    server = new S3rver({
      port,
      address: '127.0.0.1',
      directory: dir,
      silent: true,
      configureBuckets: [{ name: 'dawg-test', configs: [] }],
    });
    await server.run();
    storage = new S3Storage({
      bucket: 'dawg-test',
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    });
  });
  afterAll(async () => {
    storage.destroy();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores, reads back and serves an object through a presigned URL that expires in an hour', async () => {
    const key = 'generated/beats/user-1/gen-1.mp3';
    const body = Buffer.from('ID3 not really an mp3, but bytes are bytes');
    expect(await storage.exists(key)).toBe(false);
    await storage.put(key, body, 'audio/mpeg');
    expect(await storage.exists(key)).toBe(true);
    expect((await storage.get(key)).equals(body)).toBe(true);
    const url = new URL(await storage.signedUrl(key));
    expect(url.searchParams.get('X-Amz-Expires')).toBe('3600');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/mpeg');
    expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
  });

  it('refuses keys that could escape their prefix', async () => {
    await expect(storage.put('../etc/passwd', Buffer.from('x'), 'text/plain')).rejects.toThrow(/unsafe storage key/);
  });
});
