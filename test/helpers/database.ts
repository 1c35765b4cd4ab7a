/**
 * A database of a test's own, cloned from the run's migrated template (global-setup.ts), so a
 * stack's worker reconciles only its own rows: in the shared database, every worker's reconciler
 * would queue and render other files' PENDING generations on its own prefix and storage.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { dropDatabase } from '../../src/db/ensure-database.js';

export async function createOwnDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const template = new URL(inject('templateDatabaseUrl'));
  const templateName = template.pathname.slice(1);
  const url = new URL(template);
  url.pathname = `/${templateName.replace(/_tpl$/, '')}_own_${randomBytes(4).toString('hex')}`;
  const admin = new URL(template);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${url.pathname.slice(1)}" TEMPLATE "${templateName}"`);
  } finally {
    await client.end();
  }
  return { url: url.toString(), drop: () => dropDatabase(url.toString()) };
}
