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
 * one turn of the event loop are read together (DataLoader): one MGET for all of them, so a sweep over
 * a slice of the open sockets (graphql-ws.ts) or a burst of requests is one round trip, not one per
 * token; the versions Redis lacked, one PostgreSQL query. On a Redis Cluster, where only a user's own
 * keys share a slot, the batch is one MGET per user (sent together): a user's checks still share one.
 * If Redis is unreachable, versions are read from PostgreSQL (still enforced); the denylist cannot
 * be read then, so a token logged out with logOut works again until Redis is back (docs/api-guide.md).
 */
import DataLoader from 'dataloader';
import type { Db } from '../../db/client.js';
import { defineScript, type Redis } from '../../redis.js';
import { groupBy } from '../../group-by.js';

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
  /** A check's [version, denylist entry] from Redis ([null, null] if Redis did not answer). */
  private readonly reads: DataLoader<Lookup, (string | null)[]>;
  /** A user's version from PostgreSQL (null: no such user), copied to Redis. */
  private readonly versions: DataLoader<string, number | null>;

  constructor(private readonly deps: { redis: Redis; prisma: Db; prefix: string }) {
    this.raise = defineScript(deps.redis, 'dawgRaiseTokenVersion', RAISE_VERSION, 1);
    // No cache: every check reads afresh; only checks asked for together share the read.
    this.reads = new DataLoader((batch) => this.readMany(batch), {
      cache: false,
      maxBatchSize: CHECKS_PER_READ,
      // The rest of this turn of the event loop: a burst's requests, each with its token, share one read.
      batchScheduleFn: (run) => setImmediate(run),
    });
    // Cached only while in flight (loadVersions clears its keys): checks of one user whose Redis
    // answers came apart (in batches of different turns) share the one PostgreSQL read.
    this.versions = new DataLoader((userIds) => this.loadVersions(userIds), { maxBatchSize: CHECKS_PER_READ });
  }

  // Both keys carry the user's id as their hash tag: one MGET reads them, on one Redis Cluster slot.
  private versionKey(userId: string) {
    return `${this.deps.prefix}tokver:{${userId}}`;
  }

  private denyKey(userId: string, jti: string) {
    return `${this.deps.prefix}revoked:{${userId}}:${jti}`;
  }

  /**
   * The user's current token version (null: no such user) and whether token `jti` was logged out.
   * Redis answers; PostgreSQL gives the version when Redis has no copy or is away (the denylist
   * cannot be read then). Only a check that needed PostgreSQL waits for it, or fails with it.
   */
  async check(userId: string, jti: string | null): Promise<Revocation> {
    const lookup = { userId, jti };
    const [version = null, denied = null] = await this.reads.load(lookup);
    const revoked = Boolean(jti) && denied !== null;
    if (version !== null) return { version: Number(version), revoked };
    return { version: await this.versions.load(userId), revoked };
  }

  /** A check's two keys, which share the user's hash tag; a token without an id reads its version key twice. */
  private keysOf({ userId, jti }: Lookup): string[] {
    return [this.versionKey(userId), jti ? this.denyKey(userId, jti) : this.versionKey(userId)];
  }

  /**
   * A batch of checks' [version, denylist entry]: one MGET on one Redis server (any keys may go
   * together); on a Redis Cluster one per user, whose keys share its slot.
   */
  private async readMany(batch: readonly Lookup[]): Promise<(string | null)[][]> {
    if (!this.deps.redis.isCluster) return this.readTogether(batch);
    const byUser = groupBy(batch, (lookup) => lookup.userId);
    const answers = new Map<Lookup, (string | null)[]>();
    await Promise.all(
      [...byUser.values()].map(async (group) => {
        const values = await this.readTogether(group);
        for (const [i, lookup] of group.entries()) answers.set(lookup, values[i] as (string | null)[]);
      }),
    );
    return batch.map((lookup) => answers.get(lookup) as (string | null)[]);
  }

  /** One MGET for `batch`'s keys ([null, null] each when Redis does not answer). */
  private async readTogether(batch: readonly Lookup[]): Promise<(string | null)[][]> {
    const values = await this.deps.redis.mget(batch.flatMap((l) => this.keysOf(l))).catch(() => null);
    return batch.map((_, i) => (values ? values.slice(2 * i, 2 * i + 2) : [null, null]));
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
    // A PostgreSQL read under way may hold the old version: no check from now on shares it.
    this.versions.clear(userId);
    // If Redis misses this, readers fall back to PostgreSQL once the copy expires (VERSION_TTL_SEC);
    // the raise-only script keeps a slow reader's stale value from winning.
    await this.raise(this.versionKey(userId), tokenVersion, VERSION_TTL_SEC).catch(() => {});
    return tokenVersion;
  }

  /** The users' versions from PostgreSQL, in order (null: no such user), copied to Redis. */
  private async loadVersions(userIds: readonly string[]): Promise<(number | null)[]> {
    const rows = await this.deps.prisma.user.findMany({
      where: { id: { in: [...new Set(userIds)] } },
      select: { id: true, tokenVersion: true },
    });
    // A check from now on reads afresh (DataLoader clears the keys itself if the query failed).
    for (const id of userIds) this.versions.clear(id);
    await Promise.all(rows.map((row) => this.raise(this.versionKey(row.id), row.tokenVersion, VERSION_TTL_SEC).catch(() => {})));
    const byId = new Map(rows.map((row) => [row.id, row.tokenVersion]));
    return userIds.map((id) => byId.get(id) ?? null);
  }
}
