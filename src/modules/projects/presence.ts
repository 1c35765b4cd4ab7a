/**
 * Who has a project open now: every projectEvents subscription is an entry in a Redis sorted set per
 * project (member "<userId>|<entry id>", score = when it expires), shared by every api instance.
 * Each process renews its own entries every REFRESH_MS for TTL_MS, so the entries of a process that
 * died expire within TTL_MS (30 s); a client that vanishes is dropped by its socket's close or the
 * keepalive before that. Every change (join, leave, expiry) publishes a PRESENCE project event with
 * the distinct users present. The renewals are spread over REFRESH_MS a slice at a time
 * (transport/rounds.ts), one ZADD per project for a slice's entries in it: an api with 10,000 project
 * subscriptions sent 10,000 ZADDs at once every 10 s, and requests waited behind them.
 */
import { randomUUID } from 'node:crypto';
import { groupBy } from '../../group-by.js';
import type { Logger } from '../../logger.js';
import type { PubSub } from '../../pubsub.js';
import type { Redis } from '../../redis.js';
import { Rounds } from '../../transport/rounds.js';
import { publishProjectEvent } from './project-events.js';

export const PRESENCE_TTL_MS = 30_000;
const REFRESH_MS = 10_000;

export class Presence {
  /** This process's entries: member → project. */
  private readonly entries = new Map<string, string>();
  /** The entries' renewals, a slice every SLICE_MS or so; only while there are entries. */
  private rounds: Rounds<string> | null = null;

  constructor(
    private readonly deps: {
      redis: Redis;
      pubsub: PubSub;
      prefix: string;
      log: Logger;
      /** For tests: how often each entry is renewed (REFRESH_MS). */
      refreshMs?: number;
    },
  ) {}

  private key(projectId: string): string {
    return `${this.deps.prefix}presence:${projectId}`;
  }

  /** `userId` opened the project; returns what closes this entry (idempotent). */
  async join(projectId: string, userId: string): Promise<() => Promise<void>> {
    const member = `${userId}|${randomUUID()}`;
    this.entries.set(member, projectId);
    this.renewing().add(member);
    try {
      await this.deps.redis.zadd(this.key(projectId), Date.now() + PRESENCE_TTL_MS, member);
      await this.announce(projectId);
    } catch (err) {
      // Not joined: no entry is left behind to be renewed for nobody (one that reached Redis expires).
      this.forget(member);
      throw err;
    }
    let left = false;
    return async () => {
      if (left) return;
      left = true;
      this.forget(member);
      await this.deps.redis.zrem(this.key(projectId), member).catch(() => 0);
      await this.announce(projectId).catch(() => {});
    };
  }

  /** The renewals' rounds, started with every entry there is (after a stop, those left are renewed again). */
  private renewing(): Rounds<string> {
    if (!this.rounds) {
      this.rounds = new Rounds(this.deps.refreshMs ?? REFRESH_MS, (members) => this.renew([...members]));
      for (const member of this.entries.keys()) this.rounds.add(member);
    }
    return this.rounds;
  }

  /** Stops renewing `member`; with no entry left, the rounds stop. */
  private forget(member: string): void {
    this.entries.delete(member);
    this.rounds?.delete(member);
    if (!this.entries.size) this.stop();
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

  /** Renews all of this process's entries now, as their slices do in turn (see renew). */
  refresh(): Promise<void> {
    return this.renew([...this.entries.keys()]);
  }

  /**
   * Renews `members` (those still here), one ZADD per project, and drops the expired entries of the
   * projects they are in (another process that died): each such project hears the new list.
   */
  private async renew(members: string[]): Promise<void> {
    const until = Date.now() + PRESENCE_TTL_MS;
    const byProject = groupBy(
      members.filter((member) => this.entries.has(member)),
      (member) => this.entries.get(member) as string,
    );
    try {
      // Side by side: the api's connection pipelines them into one write.
      await Promise.all(
        [...byProject].map(([projectId, here]) => this.deps.redis.zadd(this.key(projectId), ...here.flatMap((m) => [until, m]))),
      );
      const now = Date.now();
      await Promise.all(
        [...byProject.keys()].map(async (projectId) => {
          const expired = await this.deps.redis.zremrangebyscore(this.key(projectId), '-inf', now);
          if (expired > 0) await this.announce(projectId);
        }),
      );
    } catch (err) {
      // Redis away: the entries are renewed at the next round (before they expire, unless it is long).
      this.deps.log.debug({ err: (err as Error).message }, 'presence refresh failed');
    }
  }

  stop(): void {
    this.rounds?.stop();
    this.rounds = null;
  }
}
