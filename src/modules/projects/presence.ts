/**
 * Who has a project open now: every projectEvents subscription is an entry in a Redis sorted set per
 * project (member "<userId>|<entry id>", score = when it expires), shared by every api instance.
 * Each process renews its own entries every REFRESH_MS for TTL_MS, so the entries of a process that
 * died expire within TTL_MS (30 s); a client that vanishes is dropped by its socket's close or the
 * keepalive before that. Every change (join, leave, expiry) publishes a PRESENCE project event with
 * the distinct users present.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logger.js';
import type { PubSub } from '../../pubsub.js';
import type { Redis } from '../../redis.js';
import { publishProjectEvent } from './project-events.js';

export const PRESENCE_TTL_MS = 30_000;
const REFRESH_MS = 10_000;

export class Presence {
  /** This process's entries: member → project. */
  private readonly entries = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: { redis: Redis; pubsub: PubSub; prefix: string; log: Logger }) {}

  private key(projectId: string): string {
    return `${this.deps.prefix}presence:${projectId}`;
  }

  /** `userId` opened the project; returns what closes this entry (idempotent). */
  async join(projectId: string, userId: string): Promise<() => Promise<void>> {
    const member = `${userId}|${randomUUID()}`;
    this.entries.set(member, projectId);
    this.timer ??= setInterval(() => void this.refresh(), REFRESH_MS).unref();
    await this.deps.redis.zadd(this.key(projectId), Date.now() + PRESENCE_TTL_MS, member);
    await this.announce(projectId);
    let left = false;
    return async () => {
      if (left) return;
      left = true;
      this.entries.delete(member);
      if (!this.entries.size && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
      await this.deps.redis.zrem(this.key(projectId), member).catch(() => 0);
      await this.announce(projectId).catch(() => {});
    };
  }

  /** The distinct users present now (expired entries are dropped first). */
  async present(projectId: string): Promise<string[]> {
    const key = this.key(projectId);
    await this.deps.redis.zremrangebyscore(key, '-inf', Date.now());
    const members = await this.deps.redis.zrange(key, 0, -1);
    return [...new Set(members.map((m) => m.split('|')[0] as string))].sort();
  }

  private async announce(projectId: string): Promise<void> {
    await publishProjectEvent(this.deps.pubsub, {
      projectId,
      kind: 'PRESENCE',
      byUserId: null,
      present: await this.present(projectId),
    });
  }

  /**
   * Renews this process's entries, and drops the expired ones of the projects they are in (another
   * process that died): each such project hears the new list.
   */
  async refresh(): Promise<void> {
    const now = Date.now();
    const projects = new Set(this.entries.values());
    try {
      // Side by side: the api's connection pipelines them into one write.
      await Promise.all(
        [...this.entries].map(([member, projectId]) => this.deps.redis.zadd(this.key(projectId), now + PRESENCE_TTL_MS, member)),
      );
      for (const projectId of projects) {
        const expired = await this.deps.redis.zremrangebyscore(this.key(projectId), '-inf', now);
        if (expired > 0) await this.announce(projectId);
      }
    } catch (err) {
      // Redis away: the entries are renewed at the next round (before they expire, unless it is long).
      this.deps.log.debug({ err: (err as Error).message }, 'presence refresh failed');
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
