/**
 * `npm start` (scripts/start.ts) as a new user runs it: api and worker as child processes, PORT set,
 * PUBLIC_URL not. Signed file links point at the port it serves on and download; a child that
 * crashes (SIGKILL, as the kernel's out-of-memory killer sends) makes the supervisor stop the
 * other child and exit non-zero.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { spawnTs, type TsProcess } from '../../scripts/lib/spawn-ts.js';
import { collect, freePort, gql, signUp, testEnv, wsClient } from '../helpers/harness.js';
import { waitFor } from '../helpers/stack.js';

let proc: TsProcess;
let storageDir: string;
let port: number;
let graphqlUrl: string;

/** The pid a child logged on a line containing `msg` (pino writes its pid on every line). */
function pidOf(msg: string): number {
  const line = proc
    .output()
    .split('\n')
    .find((l) => l.includes(msg));
  const pid = line ? (JSON.parse(line) as { pid?: number }).pid : undefined;
  if (!pid) throw new Error(`no log line with "${msg}":\n${proc.output()}`);
  return pid;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  storageDir = await mkdtemp(join(tmpdir(), 'dawg-start-'));
  port = await freePort();
  const env = testEnv({
    LOG_LEVEL: 'info',
    PORT: String(port),
    STORAGE_DIR: storageDir,
    REDIS_PREFIX: `${inject('redisPrefix')}${randomBytes(3).toString('hex')}:`,
    WORKER_CONCURRENCY: '1',
  });
  expect(env.PUBLIC_URL).toBeUndefined();
  // Ready when both children have said so, in either order.
  const ready = /^(?=[\s\S]*dawg worker ready)(?=[\s\S]*listening on (http:\/\/[^/\s]+)\/graphql)/;
  proc = await spawnTs('scripts/start.ts', env, ready, { timeoutMs: 60_000 });
  graphqlUrl = `${proc.match[1]}/graphql`;
}, 90_000);

afterAll(async () => {
  await proc?.stop();
  await rm(storageDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('without PUBLIC_URL, gives signed links on the port it serves on, over HTTP and graphql-ws, that download', async () => {
    expect(proc.output()).toContain(`signed file links start with http://127.0.0.1:${port} (set PUBLIC_URL`);
    const user = await signUp(graphqlUrl);
    const res = await gql(
      graphqlUrl,
      'mutation($input: GenerateBeatInput!) { generateBeat(input: $input) { id } }',
      { input: { genre: 'lofi', bpm: 90, key: 'A minor', durationSec: 5 } },
      user.token,
    );
    expect(res.errors).toBeUndefined();
    const id = res.data.generateBeat.id as string;
    const done = await waitFor({ graphqlUrl }, user.token, id);
    expect(done.status).toBe('COMPLETED');
    const links = [done.output?.audioUrl, done.output?.wavUrl, done.output?.midiUrl] as string[];
    for (const link of links) {
      const url = new URL(link);
      expect(url.origin).toBe(`http://127.0.0.1:${port}`);
      const file = await fetch(url);
      expect(file.status, link).toBe(200);
      expect((await file.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }

    const { client } = wsClient(graphqlUrl.replace(/^http/, 'ws'), user.token);
    const query = collect<{ generation: { output: { audioUrl: string } } }>(
      client,
      'query($id: ID!) { generation(id: $id) { output { audioUrl } } }',
      { id },
    );
    const overWs = new URL((await query.nth(1, 15_000)).generation.output.audioUrl);
    expect(overWs.origin).toBe(`http://127.0.0.1:${port}`);
    expect((await fetch(overWs)).status).toBe(200);
    await client.dispose();
  }, 90_000);

  it('exits non-zero and stops the worker when the api is killed by a signal', async () => {
    const apiPid = pidOf('listening on');
    const workerPid = pidOf('dawg worker ready');
    expect(apiPid).not.toBe(proc.child.pid);
    const exited = once(proc.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    process.kill(apiPid, 'SIGKILL');
    const [code, signal] = await exited;
    expect(signal).toBeNull();
    expect(code).toBe(128 + 9);
    expect(proc.output()).toContain(`dawg: api (pid ${apiPid}) killed by SIGKILL`);
    // The worker was stopped, not orphaned: it shut down cleanly and is gone.
    expect(proc.output()).toContain('dawg worker stopped');
    expect(alive(workerPid)).toBe(false);
  }, 60_000);
});
