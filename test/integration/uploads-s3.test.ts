/**
 * Uploads with the S3 driver, with real S3 calls against s3rver on loopback: the ticket is a
 * presigned PUT (content type and length signed), completeUpload reads the object's size with
 * HEAD, the worker reads it with GET, and a refused file is deleted with DELETE.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, freePort, gql, rawId, signUp, type TestUser } from '../helpers/harness.js';
import { beatDone, type Stack, startStack } from '../helpers/stack.js';
import { COMPLETE, createTicket, putFile, uploadFile } from '../helpers/uploads.js';

describe('uploads (S3 storage)', () => {
  let s3: S3rver;
  let s3Dir: string;
  let stack: Stack;
  let user: TestUser;
  let wav: Buffer;

  beforeAll(async () => {
    s3Dir = await mkdtemp(join(tmpdir(), 'dawg-s3-uploads-'));
    const port = await freePort();
    s3 = new S3rver({
      port,
      address: '127.0.0.1',
      directory: s3Dir,
      silent: true,
      configureBuckets: [{ name: 'dawg-uploads', configs: [] }],
    });
    await s3.run();
    stack = await startStack({
      STORAGE_DRIVER: 's3',
      S3_BUCKET: 'dawg-uploads',
      S3_REGION: 'us-east-1',
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
    });
    user = await signUp(stack.api.graphqlUrl);
    const beat = await beatDone(stack.api, user.token, { durationSec: 6 });
    wav = Buffer.from(await (await fetch(beat.output?.wavUrl as string)).arrayBuffer());
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await s3?.close();
    await rm(s3Dir, { recursive: true, force: true });
  });

  it('hands out a presigned S3 PUT, and completes to READY from the stored object', async () => {
    const ticket = await createTicket(stack.api.graphqlUrl, user.token, {
      filename: 'v.wav',
      contentType: 'audio/wav',
      bytes: wav.length,
    });
    expect(ticket.method).toBe('PUT');
    expect(ticket.url).toMatch(/X-Amz-Signature=/);
    expect(ticket.url).toContain('/dawg-uploads/uploads/');
    expect(ticket.headers).toEqual({ 'content-type': 'audio/wav' });
    expect(new Date(ticket.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect((await putFile(ticket, wav)).status).toBe(200);
    const done = await gql(stack.api.graphqlUrl, COMPLETE, { id: ticket.upload.id }, user.token);
    expect(done.errors).toBeUndefined();
    expect(done.data.completeUpload).toMatchObject({ status: 'READY', sampleRate: 44100, channels: 2 });
    const download = await fetch(done.data.completeUpload.audioUrl);
    expect(Buffer.from(await download.arrayBuffer()).equals(wav)).toBe(true);
  }, 30_000);

  it('a stored object of another size than declared is refused and deleted', async () => {
    const ticket = await createTicket(stack.api.graphqlUrl, user.token, {
      filename: 'v.wav',
      contentType: 'audio/wav',
      bytes: wav.length,
    });
    const key = (await stack.api.app.prisma.upload.findUniqueOrThrow({ where: { id: rawId(ticket.upload.id) } })).key;
    // As a client (or an S3 that does not check the signed length) might leave it: a shorter object.
    await stack.api.app.services.storage.put(key, wav.subarray(0, 5000), 'audio/wav');
    const done = await gql(stack.api.graphqlUrl, COMPLETE, { id: ticket.upload.id }, user.token);
    expect(codes(done)).toEqual(['BAD_USER_INPUT']);
    expect(done.errors?.[0]?.message).toMatch(`the file is 5000 bytes, but createUpload was told ${wav.length}`);
    expect(await stack.api.app.services.storage.exists(key)).toBe(false);
    expect((await stack.api.app.prisma.upload.findUniqueOrThrow({ where: { key } })).status).toBe('FAILED');
  }, 30_000);

  it('a file that is not audio is refused by the worker and deleted from the bucket', async () => {
    const text = Buffer.from('not audio '.repeat(500));
    await expect(uploadFile(stack.api.graphqlUrl, user.token, text, 'n.mp3', 'audio/mpeg')).rejects.toThrow(
      /not audio we can read/,
    );
    const row = await stack.api.app.prisma.upload.findFirstOrThrow({ where: { userId: rawId(user.id), filename: 'n.mp3' } });
    expect(row.status).toBe('FAILED');
    expect(await stack.api.app.services.storage.exists(row.key)).toBe(false);
  }, 30_000);
});
