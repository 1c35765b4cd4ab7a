/**
 * ensureDatabase (src/db/ensure-database.ts) touches the `postgres` maintenance database only to
 * create a missing database. Behind a pooler that serves the app's database alone (a loopback proxy
 * here that refuses any other database in the startup message, as PgBouncer or a managed service
 * would), an existing database is accepted as it is.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase, ensureDatabase } from '../../src/db/ensure-database.js';
import { testConfig } from '../helpers/harness.js';

/** The `database` parameter of a PostgreSQL startup message (length, protocol, then key\0value\0 pairs). */
function startupDatabase(message: Buffer): string | null {
  const fields = message.subarray(8).toString('utf8').split('\0');
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'database') return fields[i + 1] ?? null;
  return null;
}

/** A proxy to the real server that serves `only` and closes any connection asking for another database. */
async function pooler(upstream: URL, only: string) {
  const asked: string[] = [];
  const server: Server = createServer((client) => {
    client.once('data', (first) => {
      const database = startupDatabase(first);
      asked.push(database ?? '?');
      if (database !== only) return client.destroy();
      const server = connect(Number(upstream.port || 5432), upstream.hostname);
      server.write(first);
      client.pipe(server).pipe(client);
      const end = () => {
        client.destroy();
        server.destroy();
      };
      client.on('error', end).on('close', end);
      server.on('error', end).on('close', end);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { asked, port: (server.address() as AddressInfo).port, close: () => server.close() };
}

const created: string[] = [];
afterAll(async () => {
  for (const url of created) await dropDatabase(url);
});

describe('ensureDatabase', () => {
  it('accepts an existing database without the postgres maintenance database (a pooler that serves only it)', async () => {
    const url = new URL(testConfig().DATABASE_URL);
    const name = decodeURIComponent(url.pathname.slice(1));
    const proxy = await pooler(url, name);
    try {
      const through = new URL(url);
      through.hostname = '127.0.0.1';
      through.port = String(proxy.port);
      expect(await ensureDatabase(through.toString())).toBe(false);
      expect(proxy.asked).toEqual([name]);
      // The proxy does refuse the maintenance database: the check above is not vacuous.
      const admin = new URL(through);
      admin.pathname = '/postgres';
      await expect(new pg.Client({ connectionString: admin.toString() }).connect()).rejects.toThrow();
    } finally {
      proxy.close();
    }
  });

  it('creates a missing database through the maintenance database, once', async () => {
    const url = new URL(testConfig().DATABASE_URL);
    url.pathname = `/dawg_ensure_${randomBytes(4).toString('hex')}`;
    created.push(url.toString());
    expect(await ensureDatabase(url.toString())).toBe(true);
    expect(await ensureDatabase(url.toString())).toBe(false);
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    expect((await client.query('select current_database() as name')).rows[0].name).toBe(url.pathname.slice(1));
    await client.end();
  });

  it('passes on other failures (a server that is not there) instead of trying to create anything', async () => {
    await expect(ensureDatabase('postgresql://postgres@127.0.0.1:1/dawg_nowhere')).rejects.toThrow(/ECONNREFUSED/);
  });
});
