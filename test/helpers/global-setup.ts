/**
 * One PostgreSQL database per test run (dawg_test_<random>), migrated with the
 * same code `npm run db:migrate` uses, and one Redis key prefix per run.
 * A migrated template of it for tests that need a database of their own (database.ts).
 * Dropped at the end. Shared services are never wiped.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { dropDatabase, ensureDatabase } from '../../src/db/ensure-database.js';
import { applyMigrations } from '../../src/db/schema-engine.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    redisPrefix: string;
    templateDatabaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const run = randomBytes(4).toString('hex');
  const base = new URL(process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
  base.pathname = `/dawg_test_${run}`;
  const databaseUrl = base.toString();
  await ensureDatabase(databaseUrl);
  await applyMigrations(databaseUrl);
  // A migrated copy nobody connects to, for tests that need a database of their own (database.ts).
  const template = new URL(databaseUrl);
  template.pathname = `/dawg_test_${run}_tpl`;
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(`CREATE DATABASE "dawg_test_${run}_tpl" TEMPLATE "dawg_test_${run}"`).finally(() => client.end());
  project.provide('databaseUrl', databaseUrl);
  project.provide('templateDatabaseUrl', template.toString());
  project.provide('redisUrl', process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  project.provide('redisPrefix', `dawg-test-${run}:`);
  return async () => {
    await dropDatabase(databaseUrl);
    await dropDatabase(template.toString());
  };
}
