import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Config } from '../config.js';

export { PrismaClient };
export type { Prisma } from '../generated/prisma/client.js';

/** A node-postgres pool: Prisma runs over it, and the few hot statements written as SQL use it directly. */
export type Sql = pg.Pool;

type DbConfig = Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_SIZE'>;

export function createPool(config: DbConfig, options: { applicationName?: string; connectTimeoutMs?: number } = {}): Sql {
  return new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_SIZE,
    // The seed's query timeout.
    statement_timeout: 5_000,
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectTimeoutMs,
  });
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
