/**
 * Where signed file links point when PUBLIC_URL is unset: the port the api listens on, or, only for a
 * request from a trusted proxy, the host and scheme it forwarded; over HTTP and graphql-ws alike.
 * (test/integration/start.test.ts makes a real beat through `npm start` and downloads it.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { gql, type RunningApp, signUp, startApp, type TestUser, rawId } from '../helpers/harness.js';

const QUERY = 'query($id: ID!) { generation(id: $id) { output { audioUrl stems { url } } } }';
const FORWARDED = { 'x-forwarded-host': 'dawg.example.com', 'x-forwarded-proto': 'https' };

let dir: string;
const apps: RunningApp[] = [];

/** An api without PUBLIC_URL, a user, and a finished generation whose MP3 is in storage. */
async function setup(trustProxy: boolean): Promise<{ api: RunningApp; user: TestUser; id: string }> {
  const api = await startApp({ STORAGE_DIR: dir, TRUST_PROXY: trustProxy ? 'loopback' : 'false' });
  apps.push(api);
  const user = await signUp(api.graphqlUrl);
  const userId = rawId(user.id);
  const mp3 = `generated/beats/${userId}/test.mp3`;
  await api.app.services.storage.put(mp3, Buffer.from('not really an mp3'), 'audio/mpeg');
  const files = { mp3, wav: mp3, midi: null, stems: [{ name: 'drums', key: mp3 }] };
  const generation = await api.app.prisma.generation.create({
    data: {
      userId,
      type: 'BEAT',
      status: 'COMPLETED',
      input: {},
      output: { format: 'mp3', files, durationSec: 5, loudnessLufs: -14, truePeakDb: -1.5, targetLufs: -14 },
    },
  });
  return { api, user, id: generation.id };
}

async function links(api: RunningApp, user: TestUser, id: string, headers: Record<string, string> = {}) {
  const res = await gql(api.graphqlUrl, QUERY, { id }, user.token, headers);
  expect(res.errors).toBeUndefined();
  const output = res.data.generation.output as { audioUrl: string; stems: { url: string }[] };
  return [output.audioUrl, ...output.stems.map((s) => s.url)].map((u) => new URL(u));
}

/** The same query over graphql-ws, with `headers` on the WebSocket upgrade (as a proxy sends them). */
async function linkOverWs(api: RunningApp, user: TestUser, id: string, headers: Record<string, string>): Promise<URL> {
  class WithHeaders extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  }
  const client = createClient({
    url: api.wsUrl,
    webSocketImpl: WithHeaders,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${user.token}` },
  });
  try {
    const result = await client
      .iterate<{ generation: { output: { audioUrl: string } } }>({ query: QUERY, variables: { id } })
      .next();
    return new URL(result.value?.data?.generation.output.audioUrl as string);
  } finally {
    await client.dispose();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dawg-public-url-'));
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.stop()));
  await rm(dir, { recursive: true, force: true });
});

describe('signed file links without PUBLIC_URL', () => {
  it('point at the port the api listens on (PORT=0 here) and ignore Host and X-Forwarded-* from an untrusted peer', async () => {
    const { api, user, id } = await setup(false);
    const origin = new URL(api.url).origin;
    expect(origin).not.toMatch(/:0$/);
    for (const url of await links(api, user, id, FORWARDED)) {
      expect(url.origin).toBe(origin);
      expect((await fetch(url)).status).toBe(200);
    }
    expect((await linkOverWs(api, user, id, FORWARDED)).origin).toBe(origin);
  });

  it('behind a trusted proxy, use the scheme and host it forwarded, and the listening address without them', async () => {
    const { api, user, id } = await setup(true);
    for (const url of await links(api, user, id, FORWARDED)) expect(url.origin).toBe('https://dawg.example.com');
    expect((await linkOverWs(api, user, id, FORWARDED)).origin).toBe('https://dawg.example.com');
    const [direct] = await links(api, user, id);
    expect(direct?.origin).toBe(new URL(api.url).origin);
    const [bad] = await links(api, user, id, { 'x-forwarded-host': 'evil.example/path' });
    expect(bad?.origin).toBe(new URL(api.url).origin);
  });
});
