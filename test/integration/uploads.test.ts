/**
 * Uploads end to end with the local driver: createUpload → signed PUT (size enforced while
 * streaming) → completeUpload (the worker decodes with the real decoders and analyses) → a track,
 * a mix with generated audio, a master, and a beat made in chat to fit it. Every refusal the issue
 * names is tried, and each leaves nothing stored. The S3 driver is in uploads-s3.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../../scripts/lib/ffmpeg.mjs';
import { createUploadQueue } from '../../src/jobs/upload-job.js';
import { createRedis, redisTarget } from '../../src/redis.js';
import { codes, gql, rawId, signUp, type TestUser, testConfig } from '../helpers/harness.js';
import { beatDone, type Stack, startStack, waitFor } from '../helpers/stack.js';
import { COMPLETE, CREATE, createTicket, putFile, uploadFile } from '../helpers/uploads.js';

const QUOTA = 30_000_000;

describe('uploads (local storage)', () => {
  let stack: Stack;
  let user: TestUser;
  let dir: string;
  let wav: Buffer;
  const files: Record<string, Buffer> = {};

  beforeAll(async () => {
    stack = await startStack({ UPLOAD_QUOTA_BYTES: String(QUOTA), UPLOAD_MAX_DURATION_SEC: '60' });
    user = await signUp(stack.api.graphqlUrl);
    dir = await mkdtemp(join(tmpdir(), 'dawg-uploads-'));
    // A real piece of music with a known tempo and key: a beat the engine made, downloaded as WAV
    // (12 s asked for at 124 bpm: 7 whole bars, 13.55 s).
    const beat = await beatDone(stack.api, user.token, { genre: 'house', bpm: 124, key: 'A minor', durationSec: 12, seed: 7 });
    wav = Buffer.from(await (await fetch(beat.output?.wavUrl as string)).arrayBuffer());
    await writeFile(join(dir, 'beat.wav'), wav);
    // The same at 48 kHz in each compressed format, through ffmpeg.
    for (const [ext, codec] of [
      ['mp3', 'libmp3lame'],
      ['flac', 'flac'],
      ['ogg', 'libvorbis'],
    ] as const) {
      const out = join(dir, `beat.${ext}`);
      execFileSync(ffmpegPath(), ['-y', '-loglevel', 'error', '-i', join(dir, 'beat.wav'), '-ar', '48000', '-c:a', codec, out]);
      files[ext] = await readFile(out);
    }
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** What is stored under uploads/ for the user (the local driver's directory). */
  async function storedFiles(): Promise<string[]> {
    return readdir(join(stack.storageDir, 'uploads', rawId(user.id))).catch(() => []);
  }

  it('takes a WAV through PUT and completeUpload to READY, with duration, loudness, tempo and key', async () => {
    const upload = await uploadFile(stack.api.graphqlUrl, user.token, wav, 'my beat.wav', 'audio/wav');
    expect(upload).toMatchObject({ status: 'READY', filename: 'my beat.wav', contentType: 'audio/wav', bytes: wav.length });
    expect(upload.sampleRate).toBe(44100);
    expect(upload.channels).toBe(2);
    expect(upload.durationSec).toBeCloseTo(13.55, 1);
    expect(upload.loudnessLufs).toBeGreaterThan(-16);
    expect(upload.loudnessLufs).toBeLessThan(-12);
    // Detected from the sound: the beat was asked for at 124 bpm in A minor.
    expect(Math.abs(upload.bpm - 124)).toBeLessThanOrEqual(1);
    expect(upload.key).toBe('A minor');
    const download = await fetch(upload.audioUrl);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(wav)).toBe(true);
    // Completing again answers the same upload.
    const again = await gql(stack.api.graphqlUrl, COMPLETE, { id: upload.id }, user.token);
    expect(again.data?.completeUpload.status).toBe('READY');
  }, 60_000);

  it.each(['mp3', 'flac', 'ogg'])(
    'decodes %s at 48 kHz',
    async (ext) => {
      const type = { mp3: 'audio/mpeg', flac: 'audio/flac', ogg: 'audio/ogg' }[ext] as string;
      const upload = await uploadFile(stack.api.graphqlUrl, user.token, files[ext] as Buffer, `beat.${ext}`, type);
      expect(upload.status).toBe('READY');
      expect(upload.sampleRate).toBe(48000);
      expect(Math.abs(upload.bpm - 124)).toBeLessThanOrEqual(1);
      expect(upload.key).toBe('A minor');
      expect(upload.durationSec).toBeGreaterThan(13.45);
      expect(upload.durationSec).toBeLessThan(13.75);
    },
    60_000,
  );

  it('refuses at createUpload: a type we do not decode, 0 bytes, over UPLOAD_MAX_BYTES, over the quota; nothing is written', async () => {
    const before = await stack.api.app.prisma.upload.count({ where: { userId: rawId(user.id) } });
    const cases = [
      { filename: 'a.png', contentType: 'image/png', bytes: 100, why: /contentType: must be an audio type/ },
      { filename: 'a.zip', contentType: 'application/zip', bytes: 100, why: /contentType/ },
      // Names an object's prototype has (the fuzzer's find: they once passed as types, then failed inside).
      { filename: 'a.wav', contentType: 'constructor', bytes: 100, why: /contentType: must be an audio type/ },
      { filename: 'a.wav', contentType: '__proto__', bytes: 100, why: /contentType: must be an audio type/ },
      { filename: 'a.wav', contentType: 'audio/wav', bytes: 0, why: /bytes: the file is empty/ },
      { filename: 'a.wav', contentType: 'audio/wav', bytes: 200 * 1024 * 1024, why: /bytes: must be at most 104857600 bytes/ },
      { filename: 'dir/a.wav', contentType: 'audio/wav', bytes: 100, why: /filename/ },
    ];
    for (const c of cases) {
      const res = await gql(stack.api.graphqlUrl, CREATE, c, user.token);
      expect(codes(res), c.filename).toEqual(['BAD_USER_INPUT']);
      expect(res.errors?.[0]?.message).toMatch(c.why);
    }
    expect(await stack.api.app.prisma.upload.count({ where: { userId: rawId(user.id) } })).toBe(before);
    // The quota counts PENDING and READY uploads together.
    const fresh = await signUp(stack.api.graphqlUrl);
    const first = await gql(
      stack.api.graphqlUrl,
      CREATE,
      { filename: 'a.wav', contentType: 'audio/wav', bytes: QUOTA - 1000 },
      fresh.token,
    );
    expect(first.errors).toBeUndefined();
    const over = await gql(
      stack.api.graphqlUrl,
      CREATE,
      { filename: 'b.wav', contentType: 'audio/wav', bytes: 2000 },
      fresh.token,
    );
    expect(codes(over)).toEqual(['BAD_USER_INPUT']);
    expect(over.errors?.[0]?.message).toMatch(
      new RegExp(`bytes: over your upload quota: ${QUOTA - 1000} of ${QUOTA} bytes are used`),
    );
    expect(await stack.api.app.prisma.upload.count({ where: { userId: rawId(fresh.id) } })).toBe(1);
    // Concurrent creates cannot pass it together: of five thirds of the quota, three fit.
    const racer = await signUp(stack.api.graphqlUrl);
    const third = Math.floor(QUOTA / 3);
    const raced = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        gql(stack.api.graphqlUrl, CREATE, { filename: `r${i}.wav`, contentType: 'audio/wav', bytes: third }, racer.token),
      ),
    );
    expect(raced.map((r) => codes(r)[0] ?? 'OK').sort()).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT', 'OK', 'OK', 'OK']);
  });

  it('enforces the size while streaming the PUT: longer is 413, shorter is 400, and nothing is kept', async () => {
    const ticket = await createTicket(stack.api.graphqlUrl, user.token, {
      filename: 'x.wav',
      contentType: 'audio/wav',
      bytes: wav.length,
    });
    const before = await storedFiles();
    expect((await putFile(ticket, Buffer.concat([wav, Buffer.alloc(10)]))).status).toBe(413);
    expect((await putFile(ticket, wav.subarray(0, 1000))).status).toBe(400);
    // A chunked body (no content-length) that runs past the size is cut off too.
    const chunked = await putFile(ticket, Buffer.concat([wav, Buffer.alloc(70_000)]), { chunked: true });
    expect(chunked.status).toBe(413);
    expect(await storedFiles()).toEqual(before);
    // The wrong content type, or a tampered size, is not the signed request.
    expect((await putFile({ ...ticket, headers: { 'content-type': 'audio/mpeg' } }, wav)).status).toBe(403);
    expect((await putFile({ ...ticket, url: ticket.url.replace(/bytes=\d+/, `bytes=${wav.length + 1}`) }, wav)).status).toBe(403);
    // Completing before any file arrived says so and leaves the upload PENDING.
    const early = await gql(stack.api.graphqlUrl, COMPLETE, { id: ticket.upload.id }, user.token);
    expect(codes(early)).toEqual(['BAD_USER_INPUT']);
    expect(early.errors?.[0]?.message).toMatch(/no file was uploaded yet/);
    // The right body is stored once; a second PUT to the same URL is refused.
    expect((await putFile(ticket, wav)).status).toBe(201);
    expect((await putFile(ticket, wav)).status).toBe(409);
  });

  it('refuses a file that is not what it claims, ending FAILED with the reason and its object deleted', async () => {
    const zip = Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(50_000, 0)]); // a zip renamed .wav
    const riff = wav.subarray(0, Math.floor(wav.length / 2)); // cut off in transfer
    const cases: [string, Buffer, string, RegExp][] = [
      ['noise.wav', Buffer.from('this is not audio at all, just text '.repeat(100)), 'audio/wav', /not audio we can read/],
      ['bomb.wav', zip, 'audio/wav', /not audio we can read \(it is a ZIP archive\)/],
      ['cut.wav', riff, 'audio/wav', /WAV file is truncated/],
      ['cut.flac', (files.flac as Buffer).subarray(0, 60_000), 'audio/flac', /FLAC file is truncated/],
      ['beat.wav', files.mp3 as Buffer, 'audio/wav', /the file is MP3, but its content type said WAV/],
    ];
    for (const [name, body, type, why] of cases) {
      const ticket = await createTicket(stack.api.graphqlUrl, user.token, {
        filename: name,
        contentType: type,
        bytes: body.length,
      });
      expect((await putFile(ticket, body)).status, name).toBe(201);
      const done = await gql(stack.api.graphqlUrl, COMPLETE, { id: ticket.upload.id }, user.token);
      expect(codes(done), name).toEqual(['BAD_USER_INPUT']);
      expect(done.errors?.[0]?.message, name).toMatch(why);
      const row = await stack.api.app.prisma.upload.findUniqueOrThrow({ where: { id: rawId(ticket.upload.id) } });
      expect(row.status, name).toBe('FAILED');
      expect(row.error, name).toMatch(why);
      expect(await stack.api.app.services.storage.exists(row.key), name).toBe(false);
    }
  }, 60_000);

  it('refuses audio longer than UPLOAD_MAX_DURATION_SEC (decoding stops at the limit)', async () => {
    // 70 s of silence in a small FLAC: small on the wire, long once decoded.
    const out = join(dir, 'long.flac');
    execFileSync(ffmpegPath(), ['-y', '-loglevel', 'error', '-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=stereo', '-t', '70', out]);
    const body = await readFile(out);
    const res = await gql(
      stack.api.graphqlUrl,
      CREATE,
      { filename: 'long.flac', contentType: 'audio/flac', bytes: body.length },
      user.token,
    );
    await putFile(res.data.createUpload, body);
    const done = await gql(stack.api.graphqlUrl, COMPLETE, { id: res.data.createUpload.upload.id }, user.token);
    expect(codes(done)).toEqual(['BAD_USER_INPUT']);
    expect(done.errors?.[0]?.message).toMatch(/longer than 60 seconds/);
  }, 60_000);

  it("is the uploader's alone: another user gets NOT_FOUND for it, and cannot use it", async () => {
    const upload = await uploadFile(stack.api.graphqlUrl, user.token, wav, 'mine.wav', 'audio/wav');
    const other = await signUp(stack.api.graphqlUrl);
    const node = await gql(stack.api.graphqlUrl, 'query($id: ID!) { node(id: $id) { id } }', { id: upload.id }, other.token);
    expect(node.data?.node).toBeNull();
    expect(codes(await gql(stack.api.graphqlUrl, COMPLETE, { id: upload.id }, other.token))).toEqual(['NOT_FOUND']);
    const master = await gql(
      stack.api.graphqlUrl,
      'mutation($u: ID!) { masterTrack(uploadId: $u) { id } }',
      { u: upload.id },
      other.token,
    );
    expect(codes(master)).toEqual(['NOT_FOUND']);
  }, 60_000);

  it('becomes a track, is mixed with a generated beat (resampled from 48 kHz), and is mastered', async () => {
    const upload = await uploadFile(stack.api.graphqlUrl, user.token, files.ogg as Buffer, 'vocal.ogg', 'audio/ogg');
    const project = await gql(stack.api.graphqlUrl, 'mutation { createProject(name: "with upload") { id } }', {}, user.token);
    const projectId = project.data.createProject.id;
    const beat = await beatDone(stack.api, user.token, { durationSec: 5 });
    const ADD =
      'mutation($p: ID!, $g: ID, $u: ID) { addTrack(projectId: $p, generationId: $g, uploadId: $u) { id name upload { id bpm } generation { id } } }';
    const added = await gql(stack.api.graphqlUrl, ADD, { p: projectId, u: upload.id }, user.token);
    expect(added.errors).toBeUndefined();
    expect(added.data.addTrack).toMatchObject({ name: 'vocal', upload: { id: upload.id }, generation: null });
    expect((await gql(stack.api.graphqlUrl, ADD, { p: projectId, g: beat.id }, user.token)).errors).toBeUndefined();
    // Both sources, or neither, is a mistake.
    expect(codes(await gql(stack.api.graphqlUrl, ADD, { p: projectId, g: beat.id, u: upload.id }, user.token))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(codes(await gql(stack.api.graphqlUrl, ADD, { p: projectId }, user.token))).toEqual(['BAD_USER_INPUT']);

    const mix = await gql(
      stack.api.graphqlUrl,
      'mutation($p: ID!) { mixProject(projectId: $p) { id input } }',
      { p: projectId },
      user.token,
    );
    expect(mix.errors).toBeUndefined();
    expect(mix.data.mixProject.input.tracks).toHaveLength(2);
    const mixed = await waitFor(stack.api, user.token, mix.data.mixProject.id);
    expect(mixed.status).toBe('COMPLETED');
    // The mix is as long as its longest source: the 13.55 s upload, not the 5.33 s beat.
    expect(mixed.output?.durationSec).toBeGreaterThan(13);

    const master = await gql(
      stack.api.graphqlUrl,
      'mutation($u: ID!) { masterTrack(uploadId: $u, targetLufs: -16) { id } }',
      { u: upload.id },
      user.token,
    );
    expect(master.errors).toBeUndefined();
    const mastered = await waitFor(stack.api, user.token, master.data.masterTrack.id);
    expect(mastered.status).toBe('COMPLETED');
    expect(mastered.output?.loudnessLufs).toBeCloseTo(-16, 0);
  }, 90_000);

  it('in chat, "make a beat for my upload" makes one at the upload\'s tempo and key', async () => {
    const fresh = await signUp(stack.api.graphqlUrl);
    const conv = await gql(stack.api.graphqlUrl, 'mutation { createConversation { id } }', {}, fresh.token);
    const SEND =
      'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { assistantMessage { id } generation { input } } }';
    // No upload yet: the reply says so, and nothing is generated.
    const none = await gql(
      stack.api.graphqlUrl,
      SEND,
      { c: conv.data.createConversation.id, t: 'make a beat for my upload' },
      fresh.token,
    );
    expect(none.data?.sendMessage.generation).toBeNull();
    expect(await stack.api.app.prisma.generation.count({ where: { userId: rawId(fresh.id) } })).toBe(0);
    const upload = await uploadFile(stack.api.graphqlUrl, fresh.token, wav, 'vocal.wav', 'audio/wav');
    // Usage counts it as storage, as the quota does.
    const usage = await gql(stack.api.graphqlUrl, '{ usage { storageBytes } }', {}, fresh.token);
    expect(usage.data?.usage.storageBytes).toBe(wav.length);
    const sent = await gql(
      stack.api.graphqlUrl,
      SEND,
      { c: conv.data.createConversation.id, t: 'make a beat that fits my vocal' },
      fresh.token,
    );
    expect(sent.errors).toBeUndefined();
    const input = sent.data.sendMessage.generation?.input as { bpm: number; key: string } | undefined;
    expect(input?.bpm).toBe(Math.round(upload.bpm));
    expect(input?.key).toBe(upload.key);
  }, 60_000);

  it('deletes uploads never completed, and their objects, after UPLOAD_PENDING_TTL_SEC', async () => {
    const ticket = await createTicket(stack.api.graphqlUrl, user.token, {
      filename: 'left.wav',
      contentType: 'audio/wav',
      bytes: wav.length,
    });
    expect((await putFile(ticket, wav)).status).toBe(201);
    const id = rawId(ticket.upload.id);
    const row = await stack.api.app.prisma.upload.findUniqueOrThrow({ where: { id } });
    // Not yet: a day has not passed.
    expect(await stack.worker.cleanupUploads()).toBe(0);
    expect(await stack.worker.cleanupUploads(Date.now() + 25 * 3600_000)).toBeGreaterThanOrEqual(1);
    expect(await stack.api.app.prisma.upload.findUnique({ where: { id } })).toBeNull();
    expect(await stack.api.app.services.storage.exists(row.key)).toBe(false);
    // The worker runs it on a schedule: one job scheduler, every 15 minutes.
    const connection = createRedis(redisTarget(testConfig(stack.env)), stack.api.app.log, 'test-upload-queue');
    const queue = createUploadQueue(connection, stack.env.REDIS_PREFIX as string);
    expect((await queue.getJobScheduler('upload-cleanup'))?.every).toBe(15 * 60_000);
    await queue.close();
    connection.disconnect();
    // READY uploads stay.
    expect(await stack.api.app.prisma.upload.count({ where: { userId: rawId(user.id), status: 'READY' } })).toBeGreaterThan(0);
  }, 30_000);
});
