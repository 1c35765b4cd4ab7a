/**
 * Read-your-writes across requests, jobs and api instances: after something is written for a user
 * (a mutation of theirs, their chat reply finishing, their generation changing state), the primary's
 * WAL position is kept in Redis as the user's mark. A read of theirs may go to a replica only once
 * that replica has replayed past the mark (src/db/read-router.ts), so nothing they wrote, or were told
 * about, is missing from what they read next, whichever api instance serves it.
 *
 * A mark lives DATABASE_REPLICA_MAX_LAG_MS plus a minute: by then any replica still missing the write
 * is further behind than that, and is not read from at all (src/db/replicas.ts).
 */
import type { Redis } from '../redis.js';
import { defineScript } from '../redis.js';
import type { Db } from './client.js';
import { parseLsn } from './replicas.js';

// KEYS[1] the user's mark; ARGV: position (16 hex digits, so string order is numeric order), ttl ms.
// Raises it only: a slower request that wrote earlier never lowers it.
const RAISE_MARK = `
local cur = redis.call('GET', KEYS[1])
if not cur or cur < ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0
`;

export class WriteMarks {
  private readonly raise: (key: string, position: string, ttlMs: number) => Promise<number>;
  private readonly ttlMs: number;

  constructor(private readonly deps: { prisma: Pick<Db, '$queryRaw'>; redis: Redis; prefix: string; maxLagMs: number }) {
    this.raise = defineScript(deps.redis, 'dawgRaiseWriteMark', RAISE_MARK, 1);
    this.ttlMs = deps.maxLagMs + 60_000;
  }

  private key(userId: string) {
    return `${this.deps.prefix}wrote:${userId}`;
  }

  /** Marks that everything committed so far for `userId` must be in what they read next. */
  async record(userId: string): Promise<void> {
    const [row] = await this.deps.prisma.$queryRaw<{ lsn: string }[]>`SELECT pg_current_wal_lsn()::text AS lsn`;
    const position = parseLsn(row?.lsn ?? '0/0')
      .toString(16)
      .padStart(16, '0');
    await this.raise(this.key(userId), position, this.ttlMs);
  }

  /** The WAL position `userId`'s reads must see (0n: no recent write). Rejects when Redis cannot say. */
  async of(userId: string): Promise<bigint> {
    const mark = await this.deps.redis.get(this.key(userId));
    return mark ? BigInt(`0x${mark}`) : 0n;
  }
}
