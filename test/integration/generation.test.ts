import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ToneMidi from '@tonejs/midi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../worker/engine/encode.js';
import { integratedLoudness } from '../../worker/engine/loudness.js';
import { measure } from '../helpers/audio.js';
import { codes, collect, gql, signUp, type TestUser, until, wsClient } from '../helpers/harness.js';
import { type Stack, startStack, waitFor } from '../helpers/stack.js';

const GENERATE = 'mutation($input: GenerateBeatInput!) { generateBeat(input: $input) { id status stage progress } }';
const MY_GENERATIONS = 'subscription { myGenerations { percent stage generation { id status } } }';
const PROGRESS = 'subscription($id: ID!) { generationProgress(id: $id) { percent stage generation { id status } } }';

let stack: Stack;
let alice: TestUser;
let bob: TestUser;
beforeAll(async () => {
  stack = await startStack();
  [alice, bob] = await Promise.all([signUp(stack.api.graphqlUrl), signUp(stack.api.graphqlUrl)]);
});
afterAll(() => stack.stop());

async function download(url: string, name: string): Promise<{ path: string; bytes: Buffer }> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  const path = join(stack.storageDir, `dl-${Date.now()}-${name}`);
  await writeFile(path, bytes);
  return { path, bytes };
}

async function beat(user: TestUser, input: Record<string, unknown>) {
  const res = await gql(stack.api.graphqlUrl, GENERATE, { input }, user.token);
  expect(res.errors).toBeUndefined();
  return res.data.generateBeat.id as string;
}

describe('generateBeat, end to end', () => {
  it('queues at once, streams progress stage by stage, and yields a real, mastered, downloadable beat', async () => {
    const { client } = wsClient(stack.api.wsUrl, alice.token);
    const events = collect<{ myGenerations: { percent: number; stage: string; generation: { status: string } } }>(
      client,
      MY_GENERATIONS,
    );
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    const res = await gql(
      stack.api.graphqlUrl,
      GENERATE,
      { input: { genre: 'lofi', bpm: 90, key: 'A minor', mood: 'mellow', durationSec: 30 } },
      alice.token,
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.data.generateBeat).toMatchObject({ status: 'PENDING', stage: 'queued', progress: 0 });
    const id = res.data.generateBeat.id;
    const done = await waitFor(stack.api, alice.token, id);
    expect(done).toMatchObject({ status: 'COMPLETED', progress: 100, stage: 'done', attempts: 1, error: null });

    // Live progress: every stage in order, percent never going back, ending COMPLETED.
    // The last event may still be on its way when the HTTP poll sees COMPLETED.
    await until(() => events.events.some((e) => e.myGenerations.stage === 'done'), 10_000);
    const seen = events.events.map((e) => e.myGenerations);
    const stages = seen.map((e) => e.stage);
    for (const stage of ['queued', 'drums', 'bass', 'melody', 'mixing', 'mastering', 'done']) expect(stages).toContain(stage);
    expect(stages.indexOf('drums')).toBeLessThan(stages.indexOf('bass'));
    expect(stages.indexOf('bass')).toBeLessThan(stages.indexOf('melody'));
    expect(stages.indexOf('melody')).toBeLessThan(stages.indexOf('mixing'));
    const percents = seen.map((e) => e.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(seen.find((e) => e.stage === 'bass')?.percent).toBe(25);
    expect(seen.find((e) => e.stage === 'melody')?.percent).toBe(50);
    expect(seen.find((e) => e.stage === 'mixing')?.percent).toBe(75);
    expect(seen.at(-1)?.generation.status).toBe('COMPLETED');
    events.dispose();
    await client.dispose();

    // The files, measured by ffmpeg, not by us.
    const output = done.output;
    if (!output) throw new Error('no output');
    const wav = await download(output.wavUrl, 'beat.wav');
    const mp3 = await download(output.audioUrl, 'beat.mp3');
    const w = measure(wav.path);
    // 30 s asked for at 90 bpm: the fewest whole bars that hold it, 12, last 32 s.
    expect(Math.abs(w.durationSec - 32) / 32).toBeLessThan(0.02);
    expect(Math.abs(w.integratedLufs - -14)).toBeLessThanOrEqual(1);
    expect(w.truePeakDbtp).toBeLessThanOrEqual(-1);
    expect(w.maxVolumeDb).toBeLessThan(0); // no clipping
    expect(w.integratedLufs).toBeGreaterThan(-30); // not silent
    const m = measure(mp3.path);
    expect(Math.abs(m.durationSec - 32) / 32).toBeLessThan(0.02);
    expect(Math.abs(m.integratedLufs - -14)).toBeLessThanOrEqual(1);
    // Our BS.1770 meter agrees with ffmpeg's on the same file.
    const ours = integratedLoudness(decodeWav(wav.bytes).audio);
    expect(Math.abs(ours - w.integratedLufs)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(output.loudnessLufs - w.integratedLufs)).toBeLessThanOrEqual(0.5);

    const midiFile = await download(output.midiUrl as string, 'beat.mid');
    const midi = new ToneMidi.Midi(midiFile.bytes);
    expect(Math.round(midi.header.tempos[0]?.bpm ?? 0)).toBe(90);
    expect(midi.tracks.map((t) => t.name)).toEqual(['drums', 'bass', 'chords', 'lead']);
    expect(midi.tracks.every((t) => t.notes.length > 0)).toBe(true);
  });

  it('makes the same arrangement for the same seed', async () => {
    const input = { genre: 'house', bpm: 124, key: 'F minor', durationSec: 8, seed: 4242 };
    const [a, b] = [await beat(alice, input), await beat(alice, input)];
    const [sa, sb] = [await waitFor(stack.api, alice.token, a), await waitFor(stack.api, alice.token, b)];
    const [wa, wb] = [await download(sa.output?.wavUrl as string, 'a.wav'), await download(sb.output?.wavUrl as string, 'b.wav')];
    expect(wa.bytes.equals(wb.bytes)).toBe(true);
  });

  it('sends a late subscriber the current state at once', async () => {
    const id = await beat(alice, { genre: 'techno', bpm: 130, key: 'Dm', durationSec: 5 });
    await waitFor(stack.api, alice.token, id);
    const { client } = wsClient(stack.api.wsUrl, alice.token);
    const sub = collect<{ generationProgress: { percent: number; generation: { status: string } } }>(client, PROGRESS, { id });
    const first = await sub.nth(1);
    expect(first.generationProgress).toMatchObject({ percent: 100, generation: { status: 'COMPLETED' } });
    await client.dispose();
  });
});

describe('bad input', () => {
  it.each([
    [{ genre: 'polka', bpm: 90, key: 'Am' }, 'genre'],
    [{ genre: 'lofi', bpm: 300, key: 'Am' }, 'bpm'],
    [{ genre: 'lofi', bpm: 39, key: 'Am' }, 'bpm'],
    [{ genre: 'lofi', bpm: 90, key: 'H minor' }, 'key'],
    [{ genre: 'lofi', bpm: 90, key: 'Am', durationSec: 4 }, 'durationSec'],
    [{ genre: 'lofi', bpm: 90, key: 'Am', durationSec: 301 }, 'durationSec'],
  ])('%j is BAD_USER_INPUT on %s and queues nothing', async (input, field) => {
    const mine = () =>
      stack.api.app.prisma.generation.count({ where: { userId: Buffer.from(alice.id, 'base64').toString().split(':')[1] } });
    const before = await mine();
    const res = await gql(stack.api.graphqlUrl, GENERATE, { input }, alice.token);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.extensions?.field).toBe(field);
    expect(await mine()).toBe(before);
  });

  it('refuses to stem an unfinished or non-beat generation', async () => {
    const id = await beat(alice, { genre: 'pop', bpm: 110, key: 'C', durationSec: 60 });
    const res = await gql(
      stack.api.graphqlUrl,
      'mutation($id: ID!) { createStems(generationId: $id) { id } }',
      { id },
      alice.token,
    );
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'generationId' });
    await waitFor(stack.api, alice.token, id);
  });
});

describe('ownership and signed URLs', () => {
  it("keeps another user's generation, its progress and its files out of reach", async () => {
    const id = await beat(alice, { genre: 'dnb', bpm: 174, key: 'Gm', durationSec: 6 });
    const done = await waitFor(stack.api, alice.token, id);
    expect(codes(await gql(stack.api.graphqlUrl, 'query($id: ID!) { generation(id: $id) { id } }', { id }, bob.token))).toEqual([
      'NOT_FOUND',
    ]);
    expect(
      codes(await gql(stack.api.graphqlUrl, 'mutation($id: ID!) { cancelGeneration(id: $id) { id } }', { id }, bob.token)),
    ).toEqual(['NOT_FOUND']);
    expect(
      codes(await gql(stack.api.graphqlUrl, 'mutation($id: ID!) { createStems(generationId: $id) { id } }', { id }, bob.token)),
    ).toEqual(['NOT_FOUND']);
    const { client } = wsClient(stack.api.wsUrl, bob.token);
    const sub = collect(client, PROGRESS, { id });
    const failure = (await sub.failure()) as { extensions?: { code?: string } }[];
    expect(failure[0]?.extensions?.code).toBe('NOT_FOUND');
    await client.dispose();

    const url = new URL(done.output?.audioUrl as string);
    expect((await fetch(url)).status).toBe(200);
    const tampered = new URL(url);
    tampered.pathname = tampered.pathname.replace(/\.mp3$/, '.wav');
    expect((await fetch(tampered)).status).toBe(403);
    const forged = new URL(url);
    forged.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
    expect((await fetch(forged)).status).toBe(403);
    const expiresIn = Number(url.searchParams.get('expires')) - Date.now() / 1000;
    expect(expiresIn).toBeGreaterThan(3590);
    expect(expiresIn).toBeLessThanOrEqual(3600);
    const key = decodeURIComponent(url.pathname.slice('/files/'.length));
    const expired = await stack.api.app.services.storage.signedUrl(key, { expiresInSec: -1 });
    const res = await fetch(expired);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'link expired' });
  });
});

describe('stems, mastering, mixing', () => {
  it('splits a beat into four sample-aligned stems that sum back to its mix', async () => {
    const id = await beat(alice, { genre: 'hiphop', bpm: 92, key: 'Eb major', durationSec: 10 });
    const source = await waitFor(stack.api, alice.token, id);
    const res = await gql(
      stack.api.graphqlUrl,
      'mutation($id: ID!) { createStems(generationId: $id) { id type } }',
      { id },
      alice.token,
    );
    const stems = await waitFor(stack.api, alice.token, res.data.createStems.id);
    expect(stems.status).toBe('COMPLETED');
    expect(stems.output?.stems.map((s) => s.name)).toEqual(['drums', 'bass', 'chords', 'lead']);
    const mix = decodeWav((await download(source.output?.wavUrl as string, 'mix.wav')).bytes).audio;
    const parts = [];
    for (const s of stems.output?.stems ?? []) {
      const file = await download(s.url, `${s.name}.wav`);
      const decoded = decodeWav(file.bytes).audio;
      expect(decoded.left.length).toBe(mix.left.length);
      expect(measure(file.path).integratedLufs, `${s.name} is not silent`).toBeGreaterThan(-50);
      parts.push(decoded);
    }
    let maxDiff = 0;
    for (let i = 0; i < mix.left.length; i++) {
      let l = 0;
      let r = 0;
      for (const p of parts) {
        l += p.left[i] as number;
        r += p.right[i] as number;
      }
      maxDiff = Math.max(maxDiff, Math.abs(l - (mix.left[i] as number)), Math.abs(r - (mix.right[i] as number)));
    }
    expect(maxDiff).toBeLessThan(2e-4); // 16-bit mix quantization plus 24-bit stems
  });

  it('re-masters a beat to a louder target, keeping the true-peak ceiling', async () => {
    const id = await beat(alice, { genre: 'trap', bpm: 140, key: 'F minor', durationSec: 10 });
    await waitFor(stack.api, alice.token, id);
    const res = await gql(
      stack.api.graphqlUrl,
      'mutation($id: ID!) { masterTrack(generationId: $id, targetLufs: -10) { id } }',
      { id },
      alice.token,
    );
    const mastered = await waitFor(stack.api, alice.token, res.data.masterTrack.id);
    expect(mastered.status).toBe('COMPLETED');
    const file = await download(mastered.output?.wavUrl as string, 'mastered.wav');
    const m = measure(file.path);
    expect(Math.abs(m.integratedLufs - -10)).toBeLessThanOrEqual(1);
    expect(m.truePeakDbtp).toBeLessThanOrEqual(-1);
  });

  it("mixes a project's tracks with their gain, pan and mute", async () => {
    const project = await gql(stack.api.graphqlUrl, 'mutation { createProject(name: "mix me") { id } }', {}, alice.token);
    const projectId = project.data.createProject.id;
    const a = await beat(alice, { genre: 'ambient', bpm: 80, key: 'C major', durationSec: 8 });
    const b = await beat(alice, { genre: 'house', bpm: 124, key: 'A minor', durationSec: 12 });
    await Promise.all([waitFor(stack.api, alice.token, a), waitFor(stack.api, alice.token, b)]);
    const add = 'mutation($p: ID!, $g: ID!, $gain: Float) { addTrack(projectId: $p, generationId: $g, gainDb: $gain) { id } }';
    await gql(stack.api.graphqlUrl, add, { p: projectId, g: a, gain: -3 }, alice.token);
    await gql(stack.api.graphqlUrl, add, { p: projectId, g: b, gain: -6 }, alice.token);
    const res = await gql(
      stack.api.graphqlUrl,
      'mutation($p: ID!) { mixProject(projectId: $p) { id type } }',
      { p: projectId },
      alice.token,
    );
    expect(res.data.mixProject.type).toBe('MIX');
    const mixed = await waitFor(stack.api, alice.token, res.data.mixProject.id);
    expect(mixed.status).toBe('COMPLETED');
    const m = measure((await download(mixed.output?.wavUrl as string, 'project.wav')).path);
    // As long as the longest track: the house beat's 7 bars at 124 bpm (12 s asked for), 13.55 s.
    expect(Math.abs(m.durationSec - 13.55) / 13.55).toBeLessThan(0.02);
    expect(Math.abs(m.integratedLufs - -14)).toBeLessThanOrEqual(1);
  });
});

describe('cancel and retry', () => {
  it('cancels a running generation, which stays cancelled, then retries it to completion', async () => {
    const id = await beat(alice, { genre: 'lofi', bpm: 80, key: 'Am', durationSec: 120 });
    await waitFor(stack.api, alice.token, id, (s) => s.status === 'PROCESSING');
    const cancel = await gql(
      stack.api.graphqlUrl,
      'mutation($id: ID!) { cancelGeneration(id: $id) { status } }',
      { id },
      alice.token,
    );
    expect(cancel.data.cancelGeneration.status).toBe('CANCELLED');
    await new Promise((r) => setTimeout(r, 4000)); // longer than the render: the worker must have stopped
    const after = await waitFor(stack.api, alice.token, id);
    expect(after).toMatchObject({ status: 'CANCELLED', output: null });
    const again = await gql(
      stack.api.graphqlUrl,
      'mutation($id: ID!) { cancelGeneration(id: $id) { status } }',
      { id },
      alice.token,
    );
    expect(codes(again)).toEqual(['BAD_USER_INPUT']);

    const retry = await gql(
      stack.api.graphqlUrl,
      'mutation($id: ID!) { retryGeneration(id: $id) { status progress } }',
      { id },
      alice.token,
    );
    expect(retry.data.retryGeneration).toEqual({ status: 'PENDING', progress: 0 });
    const done = await waitFor(stack.api, alice.token, id);
    expect(done.status).toBe('COMPLETED');
    expect(Math.abs((done.output?.durationSec ?? 0) - 120)).toBeLessThan(0.5);
  });

  it('cancels a generation still waiting in the queue', async () => {
    const ids = [];
    // Two workers slots are busy with longer jobs; the third waits.
    for (const d of [60, 60, 5]) ids.push(await beat(alice, { genre: 'pop', bpm: 100, key: 'G', durationSec: d }));
    const waiting = ids[2] as string;
    const res = await gql(
      stack.api.graphqlUrl,
      'mutation($id: ID!) { cancelGeneration(id: $id) { status } }',
      { id: waiting },
      alice.token,
    );
    expect(res.data.cancelGeneration.status).toBe('CANCELLED');
    for (const id of ids.slice(0, 2)) await waitFor(stack.api, alice.token, id);
    expect((await waitFor(stack.api, alice.token, waiting)).status).toBe('CANCELLED');
  });
});
