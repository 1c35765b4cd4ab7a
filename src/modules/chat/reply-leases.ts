/**
 * Who is still writing each streaming reply. The api process that streams a reply holds a lease on
 * it: a score in one Redis sorted set (`<prefix>chat:leases`, the lease's expiry), renewed every
 * LEASE_MS / 3 while the reply streams and removed when it ends. If that process dies (kill -9, a
 * crash), its leases lapse; any api then finds them and ends those replies (ChatService
 * endOrphan: FAILED, with what was said so far and a done chunk), so followers are not left
 * waiting for a reply no one is writing. A lease counts as lapsed only one more LEASE_MS after its
 * expiry, so an owner whose renewals failed for a while (Redis away) renews before anyone sweeps.
 */
import type { Logger } from '../../logger.js';
import type { Redis } from '../../redis.js';

export const LEASE_MS = 6_000;

export class ReplyLeases {
  private readonly held = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(
    private readonly deps: { redis: Redis; prefix: string; log: Logger },
    private readonly leaseMs = LEASE_MS,
  ) {}

  private get key(): string {
    return `${this.deps.prefix}chat:leases`;
  }

  /** This process streams `messageId` from now on. */
  hold(messageId: string): void {
    this.held.add(messageId);
    void this.deps.redis.zadd(this.key, Date.now() + this.leaseMs, messageId).catch(() => {});
  }

  /** The reply ended (however): nobody needs to sweep it. */
  async release(messageId: string): Promise<void> {
    this.held.delete(messageId);
    await this.deps.redis.zrem(this.key, messageId).catch(() => {});
  }

  /** Renews this process's leases and ends lapsed ones through `endOrphan`, every leaseMs / 3. */
  start(endOrphan: (messageId: string) => Promise<void>): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(endOrphan), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async tick(endOrphan: (messageId: string) => Promise<void>): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const now = Date.now();
      if (this.held.size) {
        // XX: only leases still listed; one a sweeper already ended is not brought back.
        const args = [...this.held].flatMap((id) => [now + this.leaseMs, id]);
        await this.deps.redis.zadd(this.key, 'XX', ...(args as [number, string]));
      }
      const lapsed = await this.deps.redis.zrangebyscore(this.key, '-inf', now - this.leaseMs, 'LIMIT', 0, 100);
      for (const messageId of lapsed) {
        if (this.held.has(messageId)) continue;
        // One api takes each orphan: the first to remove it from the set.
        if (!(await this.deps.redis.zrem(this.key, messageId))) continue;
        await endOrphan(messageId).catch((err) =>
          this.deps.log.error({ err, messageId }, 'an orphaned reply could not be ended'),
        );
      }
    } catch {
      // Redis away: tried again on the next tick.
    } finally {
      this.sweeping = false;
    }
  }
}
