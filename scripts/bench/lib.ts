/** Shared helpers for benchmarks: percentiles, tables, machine facts, JSON results. */
import { appendFileSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { API_NODE_ARGS, apiEnv } from '../lib/api-env.mjs';
import { buildIfStale } from '../lib/build-dist.mjs';
import { spawnTs } from '../lib/spawn-ts.js';

export { spawnTs };

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export function summarize(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN };
}

export function machine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

/** Resident and peak resident memory of a process, in MiB (Linux /proc). */
export function rssOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMiB: Math.round(kib('VmRSS') / 1024), peakMiB: Math.round(kib('VmHWM') / 1024) };
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc; clock ticks of 10 ms). */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Starts `fn` `rate` times a second, `count` times, without waiting for earlier calls (open loop);
 * resolves with every result and each call's latency (ms), once all have finished.
 */
export async function paced<T>(
  rate: number,
  count: number,
  fn: (i: number) => Promise<T>,
): Promise<{ results: T[]; latencies: number[] }> {
  const results: Promise<T>[] = [];
  const latencies: number[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t0 = performance.now();
    results.push(
      fn(i).then((r) => {
        latencies.push(performance.now() - t0);
        return r;
      }),
    );
  }
  return { results: await Promise.all(results), latencies };
}

export function table(rows: Record<string, string | number>[]): string {
  const cols = Object.keys(rows[0] ?? {});
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => String(r[c]))))].join('\n');
}

export async function writeResult(name: string, data: unknown): Promise<string> {
  const dir = `${ROOT}docs/bench`;
  await mkdir(dir, { recursive: true });
  const path = `${dir}/${name}.json`;
  await writeFile(
    path,
    `${JSON.stringify({ name, at: new Date().toISOString(), machine: machine(), ...(data as object) }, null, 2)}\n`,
  );
  return path;
}

/** Keep-alive connections for the benchmarks' own requests: node:http costs the client less CPU than fetch. */
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** A GraphQL client for `url` on the benchmarks' keep-alive agent. */
export const gqlAt =
  (url: string) =>
  (query: string, variables: object = {}, token?: string) =>
    post(url, JSON.stringify({ query, variables }), token);

/** A new user with the benchmarks' password, through `gql` (gqlAt's or a BenchApi's); their token. */
export async function signUp(gql: ReturnType<typeof gqlAt>, email: string): Promise<string> {
  const res = await gql('mutation($e: String!) { signUp(email: $e, password: "benchmark pw") { token } }', { e: email });
  return res.data.signUp?.token as string;
}

/** POSTs a GraphQL body and parses the JSON answer. */
function post(
  url: string,
  body: string,
  token?: string,
): Promise<{ data: Record<string, Record<string, unknown>>; errors?: unknown[] }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(parts).toString('utf8')));
          } catch (err) {
            reject(err);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export interface BenchApi {
  url: string;
  pid: number;
  databaseUrl: string;
  prefix: string;
  env: Record<string, string>;
  /** What the api printed since the last call (e.g. --trace-gc lines). */
  takeOutput(): string;
  /** POST a GraphQL operation. */
  gql(
    query: string,
    variables?: object,
    token?: string,
  ): Promise<{ data: Record<string, Record<string, unknown>>; errors?: unknown[] }>;
  stop(): Promise<void>;
}

export interface BenchEnv {
  env: Record<string, string>;
  databaseUrl: string;
  prefix: string;
  /** Drops the per-run database. */
  drop(): Promise<void>;
}

/** The prefixes of the settings a benchmark passes from its own environment to the processes it starts. */
const PASSED_THROUGH = ['GRAPHQL_', 'WORKER_', 'CHAT_', 'HEAP_TRIM', 'HEAP_SAMPLE', 'MALLOC_'];

/**
 * A per-run database (created and migrated here) and Redis prefix, and the environment for api and
 * worker processes on them, with rate limits out of the way.
 */
export async function createBenchEnv(extraEnv: Record<string, string> = {}): Promise<BenchEnv> {
  const { randomBytes } = await import('node:crypto');
  const { ensureDatabase, dropDatabase } = await import('../../src/db/ensure-database.js');
  const { applyMigrations } = await import('../../src/db/schema-engine.js');
  const run = randomBytes(4).toString('hex');
  const databaseUrl = `postgresql://postgres@127.0.0.1:5432/dawg_bench_${run}`;
  const prefix = `dawg-bench-${run}:`;
  await ensureDatabase(databaseUrl);
  await applyMigrations(databaseUrl);
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: prefix,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    MIGRATE_ON_START: 'false',
    RATE_LIMIT_PER_MINUTE: '1000000',
    GRAPHQL_COST_PER_MINUTE: '1000000000',
    LOGIN_ATTEMPTS_PER_ACCOUNT: '1000000',
    LOGIN_ATTEMPTS_PER_IP: '1000000',
    SIGNUPS_PER_IP_PER_HOUR: '1000000',
    GENERATION_MAX_PENDING: '1000000',
    // Per-run secrets (the api and the worker of a bench share them), so no secrets file is written.
    JWT_SECRET: randomBytes(32).toString('base64url'),
    FILES_SIGNING_SECRET: randomBytes(32).toString('base64url'),
    STORAGE_DIR: `/tmp/dawg-bench-${run}`,
    // GRAPHQL_*, WORKER_*, CHAT_*, HEAP_TRIM_*, HEAP_SAMPLE_* and MALLOC_* settings pass through, so
    // `GRAPHQL_LEAN_POST=false npm run bench:chat` compares the lean POST path with yoga alone,
    // `WORKER_CONCURRENCY=3 npm run bench:queue` a setting, `HEAP_TRIM_IDLE_MS=0 npm run bench:subscriptions`
    // the api without its idle heap trim, HEAP_SAMPLE_DIR where heap-sample.mjs writes, and
    // `MALLOC_ARENA_MAX=8` the api with glibc's default arenas (on 2 cores).
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        (e): e is [string, string] => PASSED_THROUGH.some((prefix) => e[0].startsWith(prefix)) && !!e[1],
      ),
    ),
    ...extraEnv,
  };
  return { env, databaseUrl, prefix, drop: () => dropDatabase(databaseUrl) };
}

/**
 * A real api process on a createBenchEnv database (dropped by stop) and Redis prefix. It runs the
 * compiled api as `npm start` runs it (`node --enable-source-maps dist/src/main.js` with the api's
 * node options and environment defaults from scripts/lib/api-env.mjs, dist/ built first when stale): under tsx the api held about 60 MiB more (the loader and the sources it keeps).
 */
export async function startBenchApi(extraEnv: Record<string, string> = {}, nodeArgs: string[] = []): Promise<BenchApi> {
  buildIfStale((message) => console.error(`bench: ${message}`));
  const { env, databaseUrl, prefix, drop } = await createBenchEnv(extraEnv);
  // BENCH_API_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the api under load.
  const extraArgs = process.env.BENCH_API_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const api = await spawnTs('dist/src/main.js', { ...apiEnv(env), ...env, PORT: '0' }, /"port":(\d+)/, {
    nodeArgs: [...API_NODE_ARGS, '--enable-source-maps', ...nodeArgs, ...extraArgs],
    tsx: false,
  });
  const url = `http://127.0.0.1:${api.match[1]}/graphql`;
  let output = '';
  api.child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
    // BENCH_API_STDOUT=file keeps what the api prints, e.g. with BENCH_API_NODE_ARGS="--trace-gc".
    if (process.env.BENCH_API_STDOUT) appendFileSync(process.env.BENCH_API_STDOUT, d);
  });
  return {
    url,
    pid: api.child.pid as number,
    takeOutput: () => {
      const out = output;
      output = '';
      return out;
    },
    databaseUrl,
    prefix,
    env,
    gql: (query, variables = {}, token) => post(url, JSON.stringify({ query, variables }), token),
    stop: async () => {
      await api.stop();
      await drop();
    },
  };
}
