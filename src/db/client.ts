import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

export { PrismaClient };
export type { Prisma } from '../generated/prisma/client.js';

/** A node-postgres pool: Prisma runs over it, and the few hot statements written as SQL use it directly. */
export type Sql = pg.Pool;

type DbConfig = Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_SIZE'>;

/**
 * With `log`, an idle connection the server drops (it restarted) is logged and taken out of the pool;
 * without any 'error' listener the pool's error would take the process down (Prisma adds its own only
 * once it has connected).
 */
export function createPool(
  config: DbConfig,
  options: { applicationName?: string; connectTimeoutMs?: number; log?: Logger; name?: string } = {},
): Sql {
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_SIZE,
    // The seed's query timeout.
    statement_timeout: 5_000,
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectTimeoutMs,
    // A connection once opened is kept (node-postgres closes one idle for 10 s by default). The pool
    // hands out its most recently used connection first, so under steady load the rest sat idle, were
    // closed, and the next burst waited for up to a dozen new backends to start at once: generateBeat
    // at 200/s stalled 200-500 ms every other 5 s round (docs/benchmarks.md, "the pool kept open").
    // DATABASE_POOL_SIZE bounds how many there are.
    idleTimeoutMillis: 0,
    // Kept connections are probed by TCP keep-alive, so one a NAT or load balancer dropped silently
    // is found and replaced rather than left to hang the next query.
    keepAlive: true,
    keepAliveInitialDelayMillis: 30_000,
  });
  const { log, name = 'database' } = options;
  if (log) pool.on('error', (err) => log.debug({ err: err.message }, `${name} pool error`));
  return pool;
}

/** A Prisma client over node-postgres (no native query engine); `$disconnect` also ends `pool`. */
export function createPrisma(config: DbConfig, options: { logQueries?: boolean; pool?: Sql } = {}) {
  const adapter = new PrismaPg(options.pool ?? createPool(config), { disposeExternalPool: true });
  return new PrismaClient({
    adapter,
    log: options.logQueries ? [{ emit: 'event', level: 'query' }] : [],
  });
}

export type Db = ReturnType<typeof createPrisma>;

/**
 * Ends `prisma` and the pool it runs over. `$disconnect` ends the pool only once Prisma has connected,
 * and the statements written as SQL may have opened connections before it ever did.
 */
export async function closeDb(prisma: Db, pool: Sql): Promise<void> {
  await prisma.$disconnect();
  if (!pool.ending) await pool.end();
}
