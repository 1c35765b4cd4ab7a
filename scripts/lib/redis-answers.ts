/** Waits for a redis-server on 127.0.0.1 (a topology's or a test's own server) to be ready. */
import { Redis } from 'ioredis';

/** Polls the server on `port` with `check` until it holds; throws `failure` after `timeoutMs`. */
async function until(port: number, check: (probe: Redis) => Promise<boolean>, timeoutMs: number, failure: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 1 });
  probe.on('error', () => {});
  try {
    while (!(await check(probe))) {
      if (Date.now() > deadline) throw new Error(failure);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    probe.disconnect();
  }
}

/** Waits until the redis-server on `port` answers PING. */
export function redisAnswers(port: number, timeoutMs = 10_000): Promise<void> {
  return until(
    port,
    async (probe) => (await probe.ping().catch(() => '')) === 'PONG',
    timeoutMs,
    `redis on port ${port} did not answer in ${timeoutMs} ms`,
  );
}

/**
 * Waits until the Redis Cluster node on `port` lists a replica beside the master of every slot range
 * in its CLUSTER SLOTS: it lists a replica once it has heard (by gossip) that the replica has data.
 */
export function slotsReplicated(port: number, timeoutMs = 10_000): Promise<void> {
  return until(
    port,
    async (probe) => {
      const ranges = (await probe.cluster('SLOTS').catch(() => [])) as unknown[][];
      return ranges.length > 0 && ranges.every((range) => range.length >= 4);
    },
    timeoutMs,
    `the Redis Cluster node on port ${port} did not list a replica for every slot range in ${timeoutMs} ms`,
  );
}

/**
 * Waits until the redis-server replica on `port` has its master's data and follows it
 * (`master_link_status:up`): before that, a master that dies takes everything with it, since the
 * replica has nothing to be promoted with.
 */
export function replicaInSync(port: number, timeoutMs = 15_000): Promise<void> {
  return until(
    port,
    async (probe) => /master_link_status:up/.test(await probe.info('replication').catch(() => '')),
    timeoutMs,
    `the replica on port ${port} did not sync with its master in ${timeoutMs} ms`,
  );
}
