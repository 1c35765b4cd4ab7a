import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { MIGRATIONS_DIR, applyMigrations, diffMigrationsToSchema } from '../../src/db/schema-engine.js';

describe('migrations', () => {
  it('agree with schema.prisma (run `npm run db:migration:new -- <name>` when this fails)', async () => {
    const drift = await diffMigrationsToSchema(inject('databaseUrl'));
    expect(drift, `schema.prisma has changes no migration covers:\n${drift}`).toBe('');
  });

  it('are recorded in _prisma_migrations exactly as `prisma migrate deploy` records them', async () => {
    const dirs = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(dirs.length).toBeGreaterThan(0);
    const client = new pg.Client({ connectionString: inject('databaseUrl') });
    await client.connect();
    try {
      const { rows } = await client.query(
        'SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count, logs FROM _prisma_migrations ORDER BY migration_name',
      );
      expect(rows.map((r) => r.migration_name)).toEqual(dirs);
      for (const [i, name] of dirs.entries()) {
        const sql = await readFile(join(MIGRATIONS_DIR, name, 'migration.sql'));
        expect(rows[i]).toMatchObject({
          checksum: createHash('sha256').update(sql).digest('hex'),
          rolled_back_at: null,
          applied_steps_count: 1,
          logs: null,
        });
        expect(rows[i].finished_at).toBeInstanceOf(Date);
      }
    } finally {
      await client.end();
    }
  });

  it('apply nothing the second time', async () => {
    expect(await applyMigrations(inject('databaseUrl'))).toEqual([]);
  });
});
