/**
 * Revoked tokens, shared by every api instance.
 *
 * - logOutEverywhere bumps the user's token version (users.token_version in PostgreSQL, the source of
 *   truth, copied to Redis for cheap reads). Tokens carry the version they were signed with (`ver`);
 *   an older one is refused.
 * - logOut puts the token's id (`jti`) on a denylist in Redis until the token would have expired.
 *
 * TokenService re-checks a cached token at most every RECHECK_MS, so a logOut or logOutEverywhere on
 * one instance is seen by the others within RECHECK_MS plus one round trip. The checks asked for in
 * one turn of the event loop are read together (DataLoader): one MGET for all of them, or one per
 * check on a Redis Cluster, where only a user's own keys share a slot. A sweep over a slice of the
 * open sockets (graphql-ws.ts) is then one round trip, not one per token.
 * If Redis is unreachable, versions are read from PostgreSQL (still enforced); the denylist cannot
 * be read then, so a token logged out with logOut works again until Redis is back (docs/api-guide.md).
 */
import DataLoader from 'dataloader';
import { Cluster } from 'ioredis';
import type { Db } from '../../db/client.js';
import { defineScript, type Redis } from '../../redis.js';

// KEYS[1] the user's version; ARGV: version, ttl. Raises it only (a slow reader never lowers it); returns the stored value.
const RAISE_VERSION = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '-1')
local v = tonumber(ARGV[1])
if v > cur then redis.call('SET', KEYS[1], v, 'EX', ARGV[2]) return v end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return cur
`;
/**
 * How long Redis keeps a user's version copy; a miss reads PostgreSQL again. Short, so a bump whose
 * Redis write failed (Redis away at that moment) is still seen everywhere within a minute.
 */
const VERSION_TTL_SEC = 60;
/** At most this many checks share one MGET (two keys each). */
const CHECKS_PER_READ = 500;

interface Lookup {
  userId: string;
  jti: string | null;
}

/** The user's current token version (null: no such user) and whether the token was logged out. */
export interface Revocation {
  version: number | null;
  revoked: boolean;
}

export class TokenRevocations {
  private readonly raise: (key: string, version: number, ttl: number) => Promise<number>;
  private readonly lookups: DataLoader<Lookup, Revocation>;

  constructor(private readonly deps: { redis: Redis; prisma: Db; prefix: string }) {
    this.raise = defineScript(deps.redis, 'dawgRaiseTokenVersion', RAISE_VERSION, 1);
    // No cache: every check reads Redis afresh; only checks asked for together share the read.
    this.lookups = new DataLoader((batch) => this.checkMany(batch), {
      cache: false,
      maxBatchSize: CHECKS_PER_READ,
      // The rest of this turn of the event loop: a burst's requests, each with its token, share one read.
      batchScheduleFn: (run) => setImmediate(run),
    });
  }

  // Both keys carry the user's id as their hash tag: one MGET reads them, on one Redis Cluster slot.
  private versionKey(userId: string) {
    return `${this.deps.prefix}tokver:{${userId}}`;
  }

  private denyKey(userId: string, jti: string) {
    return `${this.deps.prefix}revoked:{${userId}}:${jti}`;
  }

  /** The user's current token version (null: no such user) and whether token `jti` was logged out. */
  check(userId: string, jti: string | null): Promise<Revocation> {
    return this.lookups.load({ userId, jti });
  }

  /**
   * Reads the checks together: both keys of each from Redis, and from PostgreSQL the versions Redis
   * did not have (its copy expired, or Redis is away: the denylist cannot be read then). A check that
   * needed PostgreSQL fails if PostgreSQL does; the checks Redis answered do not.
   */
  private async checkMany(batch: readonly Lookup[]): Promise<(Revocation | Error)[]> {
    const values = await this.read(batch);
    const missing = [...new Set(batch.filter((_, i) => values[i]?.[0] === null).map((l) => l.userId))];
    const loaded = missing.length ? await this.loadVersions(missing).catch(asError) : new Map<string, number>();
    return batch.map(({ userId, jti }, i) => {
      const [version, denied] = values[i] ?? [null, null];
      if (version !== null) return { version: Number(version), revoked: Boolean(jti) && denied !== null };
      if (loaded instanceof Error) return loaded;
      return { version: loaded.get(userId) ?? null, revoked: Boolean(jti) && denied !== null };
    });
  }

  /**
   * Each check's [version, denylist entry] from Redis, [null, null] where Redis did not answer. One
   * MGET; on a Redis Cluster one per check, a user's two keys sharing a slot through their hash tag.
   * A token without an id reads its version key twice.
   */
  private async read(batch: readonly Lookup[]): Promise<(string | null)[][]> {
    const keysOf = ({ userId, jti }: Lookup) => [
      this.versionKey(userId),
      jti ? this.denyKey(userId, jti) : this.versionKey(userId),
    ];
    const unanswered = () => [null, null];
    const { redis } = this.deps;
    if (redis instanceof Cluster) return Promise.all(batch.map((l) => redis.mget(keysOf(l)).catch(unanswered)));
    const values = await redis.mget(batch.flatMap(keysOf)).catch(() => null);
    return batch.map((_, i) => (values ? values.slice(2 * i, 2 * i + 2) : unanswered()));
  }

  /** logOut: this token id is refused until `expiresAtMs`. */
  async revoke(userId: string, jti: string, expiresAtMs: number): Promise<void> {
    const ttl = Math.max(1, expiresAtMs - Date.now());
    await this.deps.redis.set(this.denyKey(userId, jti), '1', 'PX', ttl);
  }

  /** logOutEverywhere: every token of the user signed so far is refused. Returns the new version. */
  async bump(userId: string): Promise<number> {
    const { tokenVersion } = await this.deps.prisma.user.update({
      where: { id: userId },
      data: { tokenVersion: { increment: 1 } },
      select: { tokenVersion: true },
    });
    // If Redis misses this, readers fall back to PostgreSQL once the copy expires (VERSION_TTL_SEC);
    // the raise-only script keeps a slow reader's stale value from winning.
    await this.raise(this.versionKey(userId), tokenVersion, VERSION_TTL_SEC).catch(() => {});
    return tokenVersion;
  }

  /**
   * The users' versions from PostgreSQL (a user who does not exist is left out), copied to Redis.
   * Keyed by the ids as asked: PostgreSQL gives a uuid back in lower case.
   */
  private async loadVersions(userIds: string[]): Promise<Map<string, number>> {
    const rows = await this.deps.prisma.user.findMany({
      where: { id: { in: userIds } },
      select: { id: true, tokenVersion: true },
    });
    const byId = new Map(rows.map((row) => [row.id, row.tokenVersion]));
    const found = new Map<string, number>();
    for (const id of userIds) {
      const version = byId.get(id.toLowerCase());
      if (version !== undefined) found.set(id, version);
    }
    await Promise.all(
      [...found].map(([id, version]) => this.raise(this.versionKey(id), version, VERSION_TTL_SEC).catch(() => {})),
    );
    return found;
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
