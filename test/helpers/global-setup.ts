/**
 * One PostgreSQL database per test run (dawg_test_<random>), migrated with the
 * same code `npm run db:migrate` uses, and one Redis key prefix per run.
 * Dropped at the end. Shared services are never wiped.
 */
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { dropDatabase, ensureDatabase } from '../../src/db/ensure-database.js';
import { applyMigrations } from '../../src/db/schema-engine.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    redisPrefix: string;
  }
}

export default async function setup(project: TestProject) {
  const run = randomBytes(4).toString('hex');
  const base = new URL(process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
  base.pathname = `/dawg_test_${run}`;
  const databaseUrl = base.toString();
  await ensureDatabase(databaseUrl);
  await applyMigrations(databaseUrl);
  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  project.provide('redisPrefix', `dawg-test-${run}:`);
  return async () => {
    await dropDatabase(databaseUrl);
  };
}
