/** Runs the real api entry point (src/main.ts) as a child process. */
import { type ChildProcess, spawn } from 'node:child_process';
import { beforeEach } from 'vitest';
import { redisAnswers } from '../../scripts/lib/redis-answers.js';
import { spawnTs } from '../../scripts/lib/spawn-ts.js';
import { testEnv } from './harness.js';

export interface ApiProcess {
  child: ChildProcess;
  url: string;
  graphqlUrl: string;
  wsUrl: string;
  output: () => string;
  /** Sends `signal` and resolves with the exit code. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function spawnApi(
  overrides: Record<string, string> = {},
  timeoutMs = 30_000,
  nodeArgs: string[] = [],
): Promise<ApiProcess> {
  return spawnEntry('src/main.ts', /listening on (http:\/\/[^/\s]+)\/graphql/, overrides, timeoutMs, nodeArgs);
}

/** Node arguments for spawnApi: SIGUSR2 then runs a full GC in the api (see gcNow). */
export const GC_ON_SIGNAL = ['--expose-gc', '--import', './test/helpers/gc-on-signal.mjs'];

/** A full GC in a process started with GC_ON_SIGNAL, then a moment for it to finish. */
export async function gcNow(pid: number): Promise<void> {
  process.kill(pid, 'SIGUSR2');
  await new Promise((resolve) => setTimeout(resolve, 300));
}

/**
 * The worker entry point (worker/main.ts); resolves when it reports ready. `url` is its endpoints'
 * base (/health, /ready, /metrics on WORKER_PORT, a free one in tests).
 */
export async function spawnWorker(overrides: Record<string, string> = {}, timeoutMs = 30_000): Promise<ApiProcess> {
  return spawnEntry('worker/main.ts', /"url":"(http:\/\/[^"]+)"[^\n]*dawg worker ready/, overrides, timeoutMs);
}

async function spawnEntry(
  entry: string,
  ready: RegExp,
  overrides: Record<string, string>,
  timeoutMs: number,
  nodeArgs: string[] = [],
): Promise<ApiProcess> {
  const p = await spawnTs(entry, testEnv({ LOG_LEVEL: 'info', ...overrides }), ready, { timeoutMs, nodeArgs });
  const url = p.match[1] as string;
  return {
    child: p.child,
    url,
    graphqlUrl: `${url}/graphql`,
    wsUrl: `${url.replace(/^http/, 'ws')}/graphql`,
    output: p.output,
    kill: p.kill,
  };
}

/**
 * When a test of the file fails, prints the end of a child process's output (its log: a Redis
 * connection error, a slow start), which is otherwise lost with the process. `of` is read then, so
 * it may name a process started in beforeAll.
 */
export function printOutputOnFailure(of: () => ApiProcess | undefined, lines = 60): void {
  beforeEach(({ onTestFailed }) =>
    onTestFailed(() => {
      const p = of();
      if (!p) return;
      const tail = p.output().trimEnd().split('\n').slice(-lines).join('\n');
      console.error(`the last ${lines} lines of the output of pid ${p.child.pid} (${p.url}):\n${tail}`);
    }),
  );
}

/**
 * A redis-server of the test's own on 127.0.0.1:`port` (no persistence), once it answers PING; for
 * tests that kill or restart Redis. `kill` SIGKILLs it and resolves when it has exited (idempotent).
 */
export async function startRedisServer(port: number): Promise<{ url: string; kill(): Promise<void> }> {
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await redisAnswers(port, 5_000);
  return {
    url: `redis://127.0.0.1:${port}`,
    kill: () =>
      new Promise<void>((resolve) => {
        if (server.exitCode !== null || server.signalCode !== null) return resolve();
        server.once('exit', () => resolve());
        server.kill('SIGKILL');
      }),
  };
}
