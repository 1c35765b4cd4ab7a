/** Waits until a redis-server on 127.0.0.1:`port` answers PING (a topology's or a test's own server). */
import { Redis } from 'ioredis';

export async function redisAnswers(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 1 });
  probe.on('error', () => {});
  try {
    for (;;) {
      if ((await probe.ping().catch(() => '')) === 'PONG') return;
      if (Date.now() > deadline) throw new Error(`redis on port ${port} did not answer in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    probe.disconnect();
  }
}

/**
 * Waits until the redis-server replica on 127.0.0.1:`port` has its master's data and follows it
 * (`master_link_status:up`): before that, a master that dies takes everything with it, since the
 * replica has nothing to be promoted with.
 */
export async function replicaInSync(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 1 });
  probe.on('error', () => {});
  try {
    for (;;) {
      const info = await probe.info('replication').catch(() => '');
      if (/master_link_status:up/.test(info)) return;
      if (Date.now() > deadline) throw new Error(`the replica on port ${port} did not sync with its master in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    probe.disconnect();
  }
}
