/**
 * `npm run bench:start [-- --runs 5]`: cold start and memory of `npm start`'s process tree, compiled
 * (scripts/start.mjs running `node dist/...`) against the tsx start it replaced (the tsx CLI running
 * the former scripts/start.ts, whose children ran `node --import tsx src/main.ts` and
 * `worker/main.ts`; taken from git as the baseline of the same run). The two alternate, `runs` times
 * each. Measured: time from spawn until the api's and the worker's /ready answer 200, then, 3 s
 * later, the RSS of every process in the tree (the supervisor, the api, the worker and anything they
 * started, such as tsx's esbuild service). Needs `npm run build` first (it is checked).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { groupBy } from '../../src/group-by.js';
import { createBenchEnv, ROOT, rssOf, summarize, table, writeResult } from './lib.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);
// The last commit with the tsx start (scripts/start.ts), before the build replaced it.
const BASELINE_COMMIT = 'f1f61ac3984ff2044bcb827b3d972406cf56cf7a';

if (!existsSync(`${ROOT}dist/src/main.js`)) {
  console.error('bench:start: run `npm run build` first');
  process.exit(1);
}
const oldStart = '/tmp/dawg-bench-start-tsx.mts'; // .mts: an ES module wherever it is
writeFileSync(oldStart, execFileSync('git', ['show', `${BASELINE_COMMIT}:scripts/start.ts`], { cwd: ROOT, encoding: 'utf8' }));

const MODES = {
  compiled: [`${ROOT}scripts/start.mjs`],
  tsx: [`${ROOT}node_modules/tsx/dist/cli.mjs`, oldStart],
} as const;
type Mode = keyof typeof MODES;

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** Every process below `root` (by parent pid, from /proc), with its command line. */
function tree(root: number): { pid: number; cmd: string }[] {
  const links: { pid: number; ppid: number }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      links.push({ pid: Number(entry), ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) });
    } catch {
      // gone meanwhile
    }
  }
  const parents = new Map([...groupBy(links, (l) => l.ppid)].map(([ppid, children]) => [ppid, children.map((c) => c.pid)]));
  const out: { pid: number; cmd: string }[] = [];
  const walk = (pid: number) => {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      return;
    }
    out.push({ pid, cmd });
    for (const child of parents.get(pid) ?? []) walk(child);
  };
  walk(root);
  return out;
}

const role = (cmd: string) =>
  /esbuild/.test(cmd) ? 'esbuild' : /src\/main/.test(cmd) ? 'api' : /worker\/main/.test(cmd) ? 'worker' : 'supervisor';

async function ready(url: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const stopped = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

const bench = await createBenchEnv();
type Sample = { readyMs: number; apiReadyMs: number; workerReadyMs: number; processes: number } & Record<string, number>;
const samples: Record<Mode, Sample[]> = { compiled: [], tsx: [] };
try {
  for (let run = 0; run < RUNS; run++) {
    for (const mode of Object.keys(MODES) as Mode[]) {
      const [port, workerPort] = [await freePort(), await freePort()];
      const started = performance.now();
      const child = spawn(process.execPath, [...MODES[mode]], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          ...bench.env,
          LOG_LEVEL: 'warn',
          PORT: String(port),
          WORKER_PORT: String(workerPort),
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const deadline = Date.now() + 120_000;
      const at = async (url: string) => {
        await ready(url, deadline);
        return performance.now() - started;
      };
      const exited = stopped(child).then(() => {
        throw new Error(`${mode}: npm start exited before it was ready`);
      });
      const [apiReadyMs, workerReadyMs] = await Promise.race([
        Promise.all([at(`http://127.0.0.1:${port}/ready`), at(`http://127.0.0.1:${workerPort}/ready`)]),
        exited,
      ]);
      exited.catch(() => {});
      await new Promise((r) => setTimeout(r, 3000));
      const rss: Record<string, number> = { api: 0, worker: 0, supervisor: 0, esbuild: 0 };
      const processes = tree(child.pid as number);
      for (const p of processes) {
        try {
          rss[role(p.cmd)] = (rss[role(p.cmd)] ?? 0) + rssOf(p.pid).rssMiB;
        } catch {
          // gone meanwhile
        }
      }
      child.kill('SIGTERM');
      await stopped(child);
      samples[mode].push({
        readyMs: Math.max(apiReadyMs, workerReadyMs),
        apiReadyMs,
        workerReadyMs,
        processes: processes.length,
        ...rss,
        total: Object.values(rss).reduce((a, b) => a + b, 0),
      });
    }
  }
} finally {
  await bench.drop();
}

const median = (mode: Mode, key: string) => summarize(samples[mode].map((s) => s[key] as number)).p50;
const rows = [
  ['cold start → api /ready (ms)', 'apiReadyMs'],
  ['cold start → worker /ready (ms)', 'workerReadyMs'],
  ['cold start → both ready (ms)', 'readyMs'],
  ['processes in the tree', 'processes'],
  ['RSS api (MiB)', 'api'],
  ['RSS worker (MiB)', 'worker'],
  ['RSS supervisor (MiB)', 'supervisor'],
  ['RSS esbuild service (MiB)', 'esbuild'],
  ['RSS whole tree (MiB)', 'total'],
].map(([measure, key]) => ({
  measure: measure as string,
  'tsx start (baseline)': Math.round(median('tsx', key as string)),
  compiled: Math.round(median('compiled', key as string)),
}));
console.log(`medians of ${RUNS} runs each, alternating\n`);
console.log(table(rows));
console.log(`\n${await writeResult('start', { runs: RUNS, rows, samples })}`);
