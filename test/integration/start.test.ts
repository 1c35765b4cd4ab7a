/**
 * `npm start` (scripts/start.mjs) as a new user runs it: the compiled api and worker (dist/, built by
 * `npm test` before this runs, or by start.mjs itself when stale) as child processes, PORT set,
 * PUBLIC_URL not. Signed file links point at the port it serves on and download; a child that
 * crashes (SIGKILL, as the kernel's out-of-memory killer sends) is started again while the other
 * keeps serving; SIGTERM stops both and exits 0; a configuration mistake is reported once.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { API_NODE_ARGS } from '../../scripts/lib/api-env.mjs';
import { spawnTs, type TsProcess } from '../../scripts/lib/spawn-ts.js';
import { collect, freePort, signUp, testEnv, wsClient } from '../helpers/harness.js';
import { createOwnDatabase } from '../helpers/database.js';
import { beatDone } from '../helpers/stack.js';

let proc: TsProcess;
let storageDir: string;
let port: number;
let graphqlUrl: string;

/** The pids children logged on lines containing `msg`, in order (pino writes its pid on every line). */
function pidsOf(msg: string): number[] {
  return proc
    .output()
    .split('\n')
    .filter((l) => l.includes(msg) && l.startsWith('{'))
    .map((l) => (JSON.parse(l) as { pid: number }).pid);
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${proc.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let database: Awaited<ReturnType<typeof createOwnDatabase>>;
beforeAll(async () => {
  storageDir = await mkdtemp(join(tmpdir(), 'dawg-start-'));
  port = await freePort();
  database = await createOwnDatabase(); // its worker reconciles this file's rows only
  const env = testEnv({
    DATABASE_URL: database.url,
    LOG_LEVEL: 'info',
    PORT: String(port),
    STORAGE_DIR: storageDir,
    REDIS_PREFIX: `${inject('redisPrefix')}${randomBytes(3).toString('hex')}:`,
    WORKER_CONCURRENCY: '1',
  });
  expect(env.PUBLIC_URL).toBeUndefined();
  // Ready when both children have said so, in either order.
  const ready = /^(?=[\s\S]*dawg worker ready)(?=[\s\S]*listening on (http:\/\/[^/\s]+)\/graphql)/;
  proc = await spawnTs('scripts/start.mjs', env, ready, { timeoutMs: 120_000 });
  graphqlUrl = `${proc.match[1]}/graphql`;
}, 150_000);

afterAll(async () => {
  await proc?.stop();
  await rm(storageDir, { recursive: true, force: true });
  await database?.drop();
});

describe('npm start', () => {
  it('without PUBLIC_URL, gives signed links on the port it serves on, over HTTP and graphql-ws, that download', async () => {
    expect(proc.output()).toContain(`signed file links start with http://127.0.0.1:${port} (set PUBLIC_URL`);
    const user = await signUp(graphqlUrl);
    const done = await beatDone({ graphqlUrl }, user.token);
    const { id } = done;
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

  it("starts the api with its node options and process environment's defaults (scripts/lib/api-env.mjs), the worker without them", async () => {
    const environ = (pid: number) =>
      new Map(
        readFileSync(`/proc/${pid}/environ`, 'utf8')
          .split('\0')
          .filter(Boolean)
          .map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
      );
    const [apiPid] = pidsOf('listening on');
    const [workerPid] = pidsOf('dawg worker ready');
    expect(environ(apiPid as number).get('MALLOC_ARENA_MAX')).toBe('2');
    expect(environ(workerPid as number).has('MALLOC_ARENA_MAX')).toBe(false);
    const argv = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    for (const arg of API_NODE_ARGS) {
      expect(argv(apiPid as number)).toContain(arg);
      expect(argv(workerPid as number)).not.toContain(arg);
    }
  });

  it('restarts a killed worker while the api keeps answering, then a killed api on the same port', async () => {
    const [workerPid] = pidsOf('dawg worker ready');
    const [apiPid] = pidsOf('listening on');
    expect(workerPid).toBeDefined();
    expect(apiPid).not.toBe(proc.child.pid);
    const health = `${graphqlUrl.replace(/\/graphql$/, '')}/health`;
    process.kill(workerPid as number, 'SIGKILL');
    let healthy = 0;
    await until(
      async () => {
        if ((await fetch(health)).status === 200) healthy++;
        return pidsOf('dawg worker ready').length === 2;
      },
      20_000,
      'the worker to be started again',
    );
    expect(healthy).toBeGreaterThan(0);
    expect(proc.output()).toContain(`dawg: worker (pid ${workerPid}) killed by SIGKILL; restarting in 1 s`);
    expect(alive(apiPid as number)).toBe(true);

    process.kill(apiPid as number, 'SIGKILL');
    await until(() => pidsOf('listening on').length === 2, 30_000, 'the api to be started again');
    expect(proc.output()).toContain(`dawg: api (pid ${apiPid}) killed by SIGKILL; restarting in 1 s`);
    expect((await fetch(health)).status).toBe(200);
    const user = await signUp(graphqlUrl);
    expect(user.token).toBeTruthy();
  }, 90_000);

  it('stops both children on SIGTERM and exits 0', async () => {
    const pids = [...pidsOf('dawg worker ready'), ...pidsOf('listening on')];
    const exited = once(proc.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    proc.child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(proc.output()).toContain('dawg worker stopped');
    for (const pid of pids) expect(alive(pid)).toBe(false);
  }, 60_000);

  it('reports a configuration mistake once and exits 1 without starting anything', async () => {
    const started = Date.now();
    const bad = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['scripts/start.mjs'], {
        env: { PATH: process.env.PATH ?? '', ...testEnv({ PORT: 'not-a-port', RATE_LIMIT_PER_MINUTE: '-1' }) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.once('exit', (code) => resolve({ code, out }));
    });
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('PORT');
    expect(bad.out).toContain('RATE_LIMIT_PER_MINUTE');
    expect(bad.out).not.toContain('listening on');
    expect(bad.out).not.toContain('restarting');
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);
});
