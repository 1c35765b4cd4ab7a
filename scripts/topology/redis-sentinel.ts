/**
 * `npm run redis:sentinel [-- --port 6390]`: Redis Sentinel on loopback, from Debian's redis-server
 * (run as `redis-server <conf> --sentinel`, which is what the redis-sentinel package runs): a master
 * on `port`, a replica on `port + 1`, and three sentinels on `port + 20000 … + 20002` watching it as
 * "mymaster" (down after 1 s, quorum 2). Prints the settings dawg needs and runs until Ctrl-C.
 * Tests start the same topology with startSentinelTopology().
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { isMain, stopChildren, stopOnSignal } from '../lib/processes.js';
import { redisAnswers, replicaInSync } from '../lib/redis-answers.js';

export interface SentinelTopology {
  /** REDIS_MODE, REDIS_SENTINELS and REDIS_SENTINEL_MASTER for dawg. */
  env: Record<string, string>;
  /** The master's port now (it moves on failover). */
  masterPort(): Promise<number>;
  /** SIGKILLs the current master's process (the sentinels then promote the replica). */
  killMaster(): Promise<number>;
  stop(): Promise<void>;
}

export async function startSentinelTopology(port = 6390, masterName = 'mymaster'): Promise<SentinelTopology> {
  const dir = await mkdtemp(join(tmpdir(), 'dawg-sentinel-'));
  const processes = new Map<number, ChildProcess>();
  const run = (p: number, args: string[]) => {
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    processes.set(p, child);
  };
  const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0'];
  run(port, ['--port', String(port), ...common]);
  await redisAnswers(port);
  run(port + 1, ['--port', String(port + 1), ...common, '--replicaof', '127.0.0.1', String(port)]);
  await redisAnswers(port + 1);
  // Ready means replicating: Redis 7 waits repl-diskless-sync-delay (5 s) before the first full sync
  // (0 below), and a master killed before it leaves the sentinels an empty replica to promote.
  await replicaInSync(port + 1);
  const sentinels = [0, 1, 2].map((i) => port + 20_000 + i);
  for (const s of sentinels) {
    const conf = join(dir, `sentinel-${s}.conf`);
    await writeFile(
      conf,
      [
        `port ${s}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${port} 2`,
        `sentinel down-after-milliseconds ${masterName} 1000`,
        `sentinel failover-timeout ${masterName} 5000`,
        `sentinel parallel-syncs ${masterName} 1`,
        '',
      ].join('\n'),
    );
    run(s, [conf, '--sentinel']);
  }
  for (const s of sentinels) await redisAnswers(s);
  const ask = new Redis(sentinels[0] as number, '127.0.0.1', { maxRetriesPerRequest: 1 });
  ask.on('error', () => {});
  const masterPort = async () => Number(((await ask.call('SENTINEL', 'get-master-addr-by-name', masterName)) as string[])[1]);
  return {
    env: {
      REDIS_MODE: 'sentinel',
      REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s}`).join(','),
      REDIS_SENTINEL_MASTER: masterName,
    },
    masterPort,
    async killMaster() {
      const current = await masterPort();
      const child = processes.get(current);
      if (child && child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      return current;
    },
    async stop() {
      ask.disconnect();
      await stopChildren(processes.values());
      await rm(dir, { recursive: true, force: true });
    },
  };
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '6390' } } });
  const topology = await startSentinelTopology(Number(values.port));
  console.log(`Redis Sentinel is up: master 127.0.0.1:${await topology.masterPort()}, a replica, three sentinels.`);
  console.log('Run dawg against it with:');
  for (const [k, v] of Object.entries(topology.env)) console.log(`  export ${k}=${v}`);
  console.log('Ctrl-C stops it.');
  stopOnSignal(() => topology.stop());
}
