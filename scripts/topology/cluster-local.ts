/**
 * `npm run cluster:local [-- --port 4000 --apis 3 --workers 2 --replica]`: several api and worker
 * processes on this machine behind HAProxy (Debian's `haproxy`) on one port: round-robin per
 * connection, WebSockets tunnelled, every api health-checked on /ready every 500 ms (out after 2
 * failures; a check may take 2.5 s, as /ready's probes may), and a request that cannot connect retried on another api. The processes read the same
 * environment as `npm start` (DATABASE_URL, DATABASE_REPLICA_URL, REDIS_*, …; REDIS_MODE=sentinel
 * works too); signed links point at the load balancer. `--replica` also starts a streaming replica of
 * DATABASE_URL's server on `--replica-port` (5433, as `npm run pg:replica`) and points
 * DATABASE_REPLICA_URL at it. Runs until Ctrl-C. Tests start the same with startLocalCluster().
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../../src/config.js';
import { API_NODE_ARGS, apiEnv } from '../lib/api-env.mjs';
import { isMain, stopOnSignal } from '../lib/processes.js';
import { spawnTs, type TsProcess } from '../lib/spawn-ts.js';
import { type PgReplica, ReplicationRefused, startPgReplica } from './pg-replica.js';

export interface LocalCluster {
  /** The load balancer's base URL. */
  url: string;
  apis: { port: number; process: TsProcess }[];
  workers: TsProcess[];
  /**
   * Drains api `i` in HAProxy (no new requests), stops it gracefully (SIGTERM: in-flight requests
   * finish) and starts a new one on its port, resolving once HAProxy has it up again: one step of a
   * rolling restart.
   */
  restartApi(i: number): Promise<void>;
  stop(): Promise<void>;
}

function haproxyConfig(port: number, apiPorts: number[], statsSocket: string): string {
  return [
    'global',
    '  maxconn 4000',
    // Admin level: a rolling restart drains an api (restartApi). The socket is this run's, mode 600.
    `  stats socket ${statsSocket} mode 600 level admin`,
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    // A health check may take as long as /ready's own probes (2 s each): without this a check has only
    // its 500 ms interval, and on a loaded machine every api was marked down at once (HAProxy's 503s).
    '  timeout check 2500ms',
    // An upgraded WebSocket lives on as a tunnel.
    '  timeout tunnel 1h',
    '  option forwardfor',
    // A request that cannot reach its api goes to another one.
    '  retries 3',
    '  option redispatch',
    // A new connection to an api for each request (the client's stays open): a request is never sent
    // on an idle connection to an api that has since died, which HAProxy answers by closing the
    // client's connection without a response (a POST lost to the client), where a new connection is
    // refused and the request goes to another api.
    '  option http-server-close',
    'frontend dawg',
    `  bind 127.0.0.1:${port}`,
    '  default_backend apis',
    'backend apis',
    '  balance roundrobin',
    '  option httpchk GET /ready',
    '  http-check expect status 200',
    '  default-server inter 500ms fall 2 rise 2',
    ...apiPorts.map((p, i) => `  server api${i + 1} 127.0.0.1:${p} check`),
    '',
  ].join('\n');
}

/** Sends one command to HAProxy's stats socket; resolves with its answer. */
function haproxyCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let out = '';
    conn.on('data', (c) => {
      out += c;
    });
    conn.on('error', reject);
    conn.on('end', () => resolve(out));
    conn.end(`${command}\n`);
  });
}

/** How many of the backend's servers HAProxy has up (its stats socket: `show stat`, status column). */
async function serversUp(socket: string): Promise<number> {
  const out = await haproxyCommand(socket, 'show stat');
  const header = out.split('\n')[0]?.replace(/^# /, '').split(',') ?? [];
  const status = header.indexOf('status');
  const svname = header.indexOf('svname');
  const rows = out
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
  return rows.filter((r) => r[0] === 'apis' && /^api\d+$/.test(r[svname] ?? '') && r[status] === 'UP').length;
}

/**
 * How long a drained api keeps its listener before it stops: HAProxy sends it nothing new once the
 * drain is set, and a request it dispatched just before reaches the api within this.
 */
const DRAIN_MS = 500;

export async function startLocalCluster(options: {
  port: number;
  apis?: number;
  workers?: number;
  env?: Record<string, string>;
}): Promise<LocalCluster> {
  const { port, apis = 3, workers = 2 } = options;
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...options.env,
    HOST: '127.0.0.1',
    PUBLIC_URL: url,
    // HAProxy on loopback adds X-Forwarded-For: the client's address is the one it saw.
    TRUST_PROXY: 'loopback',
  };
  const started: TsProcess[] = [];
  let haproxy: ChildProcess | null = null;
  const dir = await mkdtemp(join(tmpdir(), 'dawg-cluster-'));
  const stop = async () => {
    haproxy?.kill('SIGTERM');
    await Promise.all(started.map((p) => p.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const apiProcesses: { port: number; process: TsProcess }[] = [];
    // One at a time: the first creates and migrates the database and, without configured secrets,
    // the secrets file the others then read.
    const startApi = async (apiPort: number) => {
      // As `npm start` runs an api (scripts/lib/api-env.mjs).
      const p = await spawnTs(
        'src/main.ts',
        { ...apiEnv({ ...process.env, ...env }), ...env, PORT: String(apiPort) },
        /listening on http/,
        { timeoutMs: 60_000, nodeArgs: API_NODE_ARGS },
      );
      started.push(p);
      return p;
    };
    for (let i = 0; i < apis; i++) {
      const apiPort = port + 1 + i;
      apiProcesses.push({ port: apiPort, process: await startApi(apiPort) });
    }
    const workerProcesses: TsProcess[] = [];
    // The workers share this machine's cores: engine threads that add up to them (docs/operations.md),
    // unless WORKER_THREADS is set. Each taking every core would leave the apis and HAProxy starved.
    const threads = options.env?.WORKER_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / Math.max(1, workers))));
    for (let i = 0; i < workers; i++) {
      const w = await spawnTs('worker/main.ts', { ...env, WORKER_PORT: '0', WORKER_THREADS: threads }, /dawg worker ready/, {
        timeoutMs: 60_000,
      });
      started.push(w);
      workerProcesses.push(w);
    }
    const config = join(dir, 'haproxy.cfg');
    const statsSocket = join(dir, 'haproxy.sock');
    await writeFile(
      config,
      haproxyConfig(
        port,
        apiProcesses.map((a) => a.port),
        statsSocket,
      ),
    );
    haproxy = spawn('haproxy', ['-f', config, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    let spawnFailed = false;
    haproxy.stderr?.on('data', (c) => {
      errors += c;
    });
    // Not installed: an unhandled 'error' would end this process and leave the apis running.
    haproxy.once('error', (err) => {
      spawnFailed = true;
      errors += `${err.message} (Debian/Ubuntu: apt-get install haproxy)`;
    });
    const proxy = haproxy;
    // Ready when HAProxy's health checks have every api up.
    const allUp = async () => {
      for (let i = 0; ; i++) {
        if (proxy.exitCode !== null || spawnFailed) throw new Error(`haproxy exited: ${errors}`);
        const up = await serversUp(statsSocket).catch(() => 0);
        if (up === apis) return;
        if (i > 150) throw new Error(`the load balancer on ${url} has ${up} of ${apis} apis up: ${errors}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await allUp();
    // As a Kubernetes preStop hook does (deploy/k8s/base/api-deployment.yaml): the balancer stops
    // sending the api new requests before it closes its listener. Without the drain, a request HAProxy
    // had just sent to it could meet the listener closing (a clean-clone run once lost one request of
    // 658 in this restart without it).
    const restartApi = async (i: number) => {
      const api = apiProcesses[i];
      if (!api) throw new Error(`no api ${i}`);
      const server = `apis/api${i + 1}`;
      await haproxyCommand(statsSocket, `set server ${server} state drain`);
      await new Promise((r) => setTimeout(r, DRAIN_MS));
      await api.process.stop();
      api.process = await startApi(api.port);
      await haproxyCommand(statsSocket, `set server ${server} state ready`);
      await allUp();
    };
    return { url, apis: apiProcesses, workers: workerProcesses, restartApi, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.PORT ?? '4000' },
      apis: { type: 'string', default: '3' },
      workers: { type: 'string', default: '2' },
      replica: { type: 'boolean', default: false },
      'replica-port': { type: 'string', default: '5433' },
    },
  });
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  delete env.PORT;
  let replica: PgReplica | null = null;
  if (values.replica) {
    replica = await startPgReplica({ primaryUrl: loadConfigOrExit().DATABASE_URL, port: Number(values['replica-port']) }).catch(
      (err: Error) => {
        console.error(err instanceof ReplicationRefused ? err.message : `cluster:local: ${err.message}`);
        process.exit(1);
      },
    );
    env.DATABASE_REPLICA_URL = replica.url;
  }
  const cluster = await startLocalCluster({
    port: Number(values.port),
    apis: Number(values.apis),
    workers: Number(values.workers),
    env,
  }).catch(async (err: Error) => {
    await replica?.stop();
    throw err;
  });
  console.log(`dawg behind HAProxy: ${cluster.url}/graphql`);
  for (const a of cluster.apis) console.log(`  api on 127.0.0.1:${a.port}`);
  if (replica) console.log(`  reads that tolerate lag on the replica ${new URL(replica.url).host}`);
  console.log(`  ${cluster.workers.length} worker(s). Ctrl-C stops everything.`);
  stopOnSignal(async () => {
    await cluster.stop();
    await replica?.stop();
  });
}
