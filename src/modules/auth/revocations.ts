/**
 * Revoked tokens, shared by every api instance.
 *
 * - logOutEverywhere bumps the user's token version (users.token_version in PostgreSQL, the source of
 *   truth, copied to Redis for cheap reads). Tokens carry the version they were signed with (`ver`);
 *   an older one is refused.
 * - logOut puts the token's id (`jti`) on a denylist in Redis until the token would have expired.
 *
 * TokenService re-checks a cached token at most every RECHECK_MS with one MGET, so a logOut or
 * logOutEverywhere on one instance is seen by the others within RECHECK_MS plus one round trip.
 * If Redis is unreachable, versions are read from PostgreSQL (still enforced); the denylist cannot
 * be read then, so a token logged out with logOut works again until Redis is back (docs/api-guide.md).
 */
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

export class TokenRevocations {
  private readonly raise: (key: string, version: number, ttl: number) => Promise<number>;

  constructor(private readonly deps: { redis: Redis; prisma: Db; prefix: string }) {
    this.raise = defineScript(deps.redis, 'dawgRaiseTokenVersion', RAISE_VERSION, 1);
  }

  // Both keys carry the user's id as their hash tag: one MGET reads them, on one Redis Cluster slot.
  private versionKey(userId: string) {
    return `${this.deps.prefix}tokver:{${userId}}`;
  }

  private denyKey(userId: string, jti: string) {
    return `${this.deps.prefix}revoked:{${userId}}:${jti}`;
  }

  /** The user's current token version (null: no such user) and whether token `jti` was logged out. */
  async check(userId: string, jti: string | null): Promise<{ version: number | null; revoked: boolean }> {
    let cached: string | null = null;
    let revoked = false;
    try {
      const [v, r] = await this.deps.redis.mget(
        this.versionKey(userId),
        jti ? this.denyKey(userId, jti) : this.versionKey(userId),
      );
      cached = v ?? null;
      revoked = Boolean(jti) && r !== null;
    } catch {
      // Redis away: the version still comes from PostgreSQL below.
    }
    if (cached !== null) return { version: Number(cached), revoked };
    return { version: await this.loadVersion(userId), revoked };
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

  private async loadVersion(userId: string): Promise<number | null> {
    const row = await this.deps.prisma.user.findUnique({ where: { id: userId }, select: { tokenVersion: true } });
    if (!row) return null;
    await this.raise(this.versionKey(userId), row.tokenVersion, VERSION_TTL_SEC).catch(() => {});
    return row.tokenVersion;
  }
}
