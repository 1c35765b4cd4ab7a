/**
 * `npm run redis:cluster [-- --port 7000]`: a Redis Cluster on loopback from Debian's redis-server:
 * six nodes on `port … port + 5`, made with `redis-cli --cluster create --cluster-replicas 1` (three
 * masters, each with a replica). A master that stops answering for 2 s (cluster-node-timeout) is
 * replaced by its replica. Prints the settings dawg needs and runs until Ctrl-C. Tests start the
 * same topology with startClusterTopology().
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { isMain, stopChildren, stopOnSignal } from '../lib/processes.js';
import { redisAnswers, replicaInSync, slotsReplicated } from '../lib/redis-answers.js';

const run = promisify(execFile);
const NODES = 6;

export interface ClusterTopology {
  /** REDIS_MODE and REDIS_CLUSTER_NODES for dawg. */
  env: Record<string, string>;
  /** The ports of the nodes that are masters now (a failover moves them). */
  masters(): Promise<number[]>;
  /** The port of the master serving `key`'s slot now. */
  masterOf(key: string): Promise<number>;
  /** The replicas running now, each with its master's port. */
  replicas(): Promise<{ port: number; masterPort: number }[]>;
  /** SIGKILLs the node on `port` (a master's replica then takes over); resolves once the process is gone. */
  killNode(port: number): Promise<void>;
  /** Resolves once every node still running flags `port` as failed. */
  failed(port: number, timeoutMs?: number): Promise<void>;
  /** Resolves once every node still running reports cluster_state:ok and `port` is no longer a master. */
  failedOver(port: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** `CLUSTER NODES` of the node on `port`: each node it sees, its flags and whether it holds slots. */
async function clusterNodes(
  port: number,
): Promise<{ id: string; port: number; flags: string[]; master: string; slots: [number, number][] }[]> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'cluster', 'nodes']);
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .map(([id, addr, flags, master, , , , , ...slots]) => ({
      id: id ?? '',
      master: master ?? '-',
      port: Number(/:(\d+)@/.exec(addr ?? '')?.[1]),
      flags: (flags ?? '').split(','),
      slots: slots
        .filter((range) => !range.startsWith('['))
        .map((range) => range.split('-').map(Number))
        .map(([from, to]) => [from, to ?? from] as [number, number]),
    }));
}

/** Calls `check` every `intervalMs` until it holds; throws `failure` once `timeoutMs` have passed. */
async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, intervalMs: number, failure: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(failure);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function clusterOk(port: number): Promise<boolean> {
  const info = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'cluster', 'info']).catch(() => null);
  return Boolean(info?.stdout.includes('cluster_state:ok'));
}

export async function startClusterTopology(port = 7000): Promise<ClusterTopology> {
  const dir = await mkdtemp(join(tmpdir(), 'dawg-cluster-'));
  const ports = Array.from({ length: NODES }, (_, i) => port + i);
  const processes = new Map<number, ChildProcess>();
  for (const p of ports) {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(p),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${p}.conf`,
        '--cluster-node-timeout',
        '2000',
        '--repl-diskless-sync-delay',
        '0',
      ],
      { stdio: 'ignore' },
    );
    processes.set(p, child);
  }
  const live = () => ports.filter((p) => processes.get(p)?.exitCode === null && processes.get(p)?.signalCode === null);
  const stop = async () => {
    await stopChildren(processes.values());
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const p of ports) await redisAnswers(p);
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ]);
    // Every node says ok, and sees three masters holding slots and three replicas.
    const formed = async () => {
      if (!(await Promise.all(ports.map(clusterOk))).every(Boolean)) return false;
      const nodes = await clusterNodes(port);
      return nodes.filter((n) => n.flags.includes('slave')).length === 3 && nodes.filter((n) => n.slots.length).length === 3;
    };
    await pollUntil(formed, 20_000, 100, 'the Redis Cluster did not reach cluster_state:ok in 20 s');
    // And every replica has its master's data: until its first sync a replica is left out of CLUSTER
    // SLOTS, so a client that connected before then has no connection to it (and its NUMSUB count
    // misses a subscriber in another process that sits there), and a master killed before then has
    // nothing to fail over to. Redis 7 waits repl-diskless-sync-delay (5 s, 0 above) before a sync.
    const replicas = (await clusterNodes(port)).filter((n) => n.flags.includes('slave'));
    await Promise.all(replicas.map((r) => replicaInSync(r.port)));
    await Promise.all(ports.map((p) => slotsReplicated(p)));
  } catch (err) {
    await stop();
    throw err;
  }

  const masters = async () => {
    const nodes = await clusterNodes(live()[0] as number);
    return nodes
      .filter((n) => n.flags.includes('master') && !n.flags.includes('fail'))
      .map((n) => n.port)
      .filter((p) => live().includes(p));
  };
  return {
    env: { REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(',') },
    masters,
    async masterOf(key) {
      const at = String(live()[0]);
      const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', at, 'cluster', 'keyslot', key]);
      const slot = Number(stdout.trim());
      const nodes = await clusterNodes(Number(at));
      const owner = nodes.find((n) => n.flags.includes('master') && n.slots.some(([from, to]) => slot >= from && slot <= to));
      if (!owner) throw new Error(`no master serves slot ${slot}`);
      return owner.port;
    },
    async replicas() {
      const nodes = await clusterNodes(live()[0] as number);
      return nodes
        .filter((n) => n.flags.includes('slave') && !n.flags.includes('fail') && live().includes(n.port))
        .map((n) => ({ port: n.port, masterPort: nodes.find((m) => m.id === n.master)?.port ?? 0 }));
    },
    async killNode(p) {
      const child = processes.get(p);
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
    failed: (p, timeoutMs = 30_000) =>
      pollUntil(
        async () => {
          const views = await Promise.all(live().map((at) => clusterNodes(at).catch(() => [])));
          return views.every((nodes) => nodes.some((n) => n.port === p && n.flags.includes('fail')));
        },
        timeoutMs,
        200,
        `the Redis Cluster did not flag ${p} as failed in ${timeoutMs} ms`,
      ),
    failedOver: (p, timeoutMs = 30_000) =>
      pollUntil(
        async () => {
          const ok = (await Promise.all(live().map(clusterOk))).every(Boolean);
          return ok && (await masters()).length === 3 && !(await masters()).includes(p);
        },
        timeoutMs,
        200,
        `the Redis Cluster did not fail over from ${p} in ${timeoutMs} ms`,
      ),
    stop,
  };
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '7000' } } });
  const topology = await startClusterTopology(Number(values.port));
  console.log(`Redis Cluster is up: masters on ${(await topology.masters()).join(', ')}, each with a replica.`);
  console.log('Run dawg against it with:');
  for (const [k, v] of Object.entries(topology.env)) console.log(`  export ${k}=${v}`);
  console.log('Ctrl-C stops it.');
  stopOnSignal(() => topology.stop());
}
