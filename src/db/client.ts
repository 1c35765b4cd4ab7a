import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Config } from '../config.js';

export { PrismaClient };
export type { Prisma } from '../generated/prisma/client.js';

/** A Prisma client over node-postgres (no native query engine). */
export function createPrisma(
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_SIZE'>,
  options: { logQueries?: boolean } = {},
) {
  const adapter = new PrismaPg({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_SIZE,
    // The seed's query timeout.
    statement_timeout: 5_000,
  });
  return new PrismaClient({
    adapter,
    log: options.logQueries ? [{ emit: 'event', level: 'query' }] : [],
  });
}

export type Db = ReturnType<typeof createPrisma>;
