/**
 * The read replicas (DATABASE_REPLICA_URL): a pool and a Prisma client each, and what a check every
 * REPLICA_CHECK_MS learns of them: whether they answer, how far they have replayed the primary's WAL,
 * and how long ago the primary was where they are now (their lag).
 *
 * Lag is measured against the primary's own WAL position, sampled at each check: a replica's lag is
 * the age of the oldest sample it has not replayed yet, 0 when it has replayed them all. An idle
 * primary therefore never makes a replica look behind, and a replica whose replay is paused or slow
 * is seen as soon as the primary writes. A replica past DATABASE_REPLICA_MAX_LAG_MS, one that does
 * not answer, or one not checked lately is not read from.
 */
import type { Logger } from '../logger.js';
import { withTimeout } from '../timeout.js';
import { closeDb, createPool, createPrisma, type Db, type Sql } from './client.js';

export const REPLICA_CHECK_MS = 500;

export type ReplicaState = 'ok' | 'unavailable' | 'lagging';

/** A PostgreSQL WAL position (pg_lsn text, 'X/Y' in hex) as a number. */
export function parseLsn(text: string): bigint {
  const [hi = '0', lo = '0'] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

/** Past any WAL position: what a server that is not in recovery (not a standby) has "replayed". */
const EVERYTHING = 1n << 64n;

export interface Replica {
  /** 1, 2, … in DATABASE_REPLICA_URL's order (metrics and /ready name replicas by it: the URL holds credentials). */
  name: string;
  prisma: Db;
  state: ReplicaState;
  /** The WAL position it had replayed at its last check. */
  replayed: bigint;
  lagMs: number;
  /** When it last answered a check (ms since the epoch; 0: never). */
  checkedAt: number;
}

export class ReplicaSet {
  readonly replicas: Replica[];
  private readonly pools: Sql[];
  /** The primary's WAL position at each check, oldest first, kept for DATABASE_REPLICA_MAX_LAG_MS and a little more. */
  private samples: { at: number; lsn: bigint }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private turn = 0;

  constructor(private readonly deps: { urls: string[]; primary: Sql; poolSize: number; maxLagMs: number; log: Logger }) {
    const configs = deps.urls.map((url) => ({ DATABASE_URL: url, DATABASE_POOL_SIZE: deps.poolSize }));
    this.pools = configs.map((config) => {
      // A replica that is unreachable costs a read at most this much before it falls back to the primary.
      return createPool(config, { connectTimeoutMs: 2000, log: deps.log, name: 'replica' });
    });
    this.replicas = this.pools.map((pool, i) => ({
      name: String(i + 1),
      prisma: createPrisma(configs[i] as (typeof configs)[number], { pool }),
      state: 'unavailable',
      replayed: 0n,
      lagMs: 0,
      checkedAt: 0,
    }));
  }

  /** Checks every replica now, then every REPLICA_CHECK_MS. */
  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), REPLICA_CHECK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checking;
    await Promise.allSettled(this.replicas.map((r, i) => closeDb(r.prisma, this.pools[i] as Sql)));
  }

  /**
   * A replica to read from that has replayed at least `atLeast` (0n: any), taking turns among those
   * that qualify; null when none does.
   */
  pick(atLeast: bigint): Replica | null {
    const now = Date.now();
    const fit = this.replicas.filter(
      (r) => r.state === 'ok' && now - r.checkedAt <= 3 * REPLICA_CHECK_MS && r.replayed >= atLeast,
    );
    if (!fit.length) return null;
    this.turn = (this.turn + 1) % fit.length;
    return fit[this.turn] as Replica;
  }

  /** A read on `replica` failed: it is not read from again until a check finds it answering. */
  failed(replica: Replica, err: unknown): void {
    if (replica.state !== 'unavailable')
      this.deps.log.warn({ err: (err as Error).message, replica: replica.name }, 'read replica failed; reading the primary');
    replica.state = 'unavailable';
  }

  /** Each replica's state, in DATABASE_REPLICA_URL's order (/ready). */
  states(): ReplicaState[] {
    return this.replicas.map((r) => r.state);
  }

  /** One round of checks (never two at once: a slow one is not piled onto). */
  check(): Promise<void> {
    this.checking ??= this.checkAll().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async checkAll(): Promise<void> {
    const now = Date.now();
    const primary = await withTimeout(this.deps.primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'), 1000)
      .then(({ rows }) => parseLsn(rows[0]?.lsn ?? '0/0'))
      .catch(() => null);
    // Without the primary's position no lag can be known: the replicas keep their state, unchecked,
    // and pick() stops choosing them once that state is old.
    if (primary === null) return;
    // The first sample's age is unknown (the primary may have been there for long): a replica behind
    // it counts as lagging until it has replayed it, normally by the next check.
    this.samples.push({ at: this.samples.length ? now : 0, lsn: primary });
    // The newest sample older than the lag window stays: a replica that has not replayed it is lagging
    // however long ago the checks before it were (a stalled timer included).
    const keepFrom = now - this.deps.maxLagMs - 2 * REPLICA_CHECK_MS;
    while (this.samples.length > 1 && (this.samples[1] as { at: number }).at < keepFrom) this.samples.shift();
    await Promise.all(this.replicas.map((replica, i) => this.checkOne(replica, this.pools[i] as Sql, now)));
  }

  private async checkOne(replica: Replica, pool: Sql, now: number): Promise<void> {
    const was = replica.state;
    try {
      const { rows } = await withTimeout(
        pool.query<{ standby: boolean; lsn: string | null }>(
          'SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS lsn',
        ),
        1000,
      );
      const row = rows[0];
      replica.replayed = row?.standby ? parseLsn(row.lsn ?? '0/0') : EVERYTHING;
      const behind = this.samples.find((s) => s.lsn > replica.replayed);
      replica.lagMs = behind ? now - behind.at : 0;
      replica.state = replica.lagMs >= this.deps.maxLagMs ? 'lagging' : 'ok';
      replica.checkedAt = now;
    } catch (err) {
      replica.state = 'unavailable';
      if (was !== 'unavailable')
        this.deps.log.warn({ err: (err as Error).message, replica: replica.name }, 'read replica does not answer');
    }
    if (was !== replica.state && replica.state !== 'unavailable')
      this.deps.log.info({ replica: replica.name, state: replica.state, lagMs: replica.lagMs }, 'read replica state');
  }
}
