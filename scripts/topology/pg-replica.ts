/**
 * `npm run pg:replica [-- --port 5433 --primary <url>]`: a PostgreSQL streaming replica on this
 * machine. pg_basebackup -R copies the primary (default: DATABASE_URL's server) into a fresh data
 * directory, and a second `postgres` serves it as a hot standby on 127.0.0.1:`port`, streaming the
 * primary's WAL from then on. Prints DATABASE_REPLICA_URL and runs until Ctrl-C, which stops it and
 * deletes its data directory (the next start copies the primary afresh). Tests start the same with
 * startPgReplica().
 *
 * The primary must accept replication connections from 127.0.0.1 (`.ci/run` adds the line to the
 * system cluster's pg_hba.conf); when it does not, this stops with one line saying what to add.
 */
import { chown, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfigOrExit } from '../../src/config.js';
import { isMain, stopOnSignal } from '../lib/processes.js';
import { makeDataDir, PostgresServer, runServerProgram, serverBinDir, serverUser } from '../lib/postgres-server.js';

/** What pg_hba.conf needs for pg_basebackup and the standby's WAL stream from this machine. */
export const REPLICATION_HBA_LINE = 'host replication all 127.0.0.1/32 trust';

/** The primary refuses replication connections: `message` is the one line that says what to do. */
export class ReplicationRefused extends Error {}

/** Settings a hot standby must have at least as high as its primary's, or it refuses to start. */
const STANDBY_MINIMUMS = [
  'max_connections',
  'max_worker_processes',
  'max_wal_senders',
  'max_prepared_transactions',
  'max_locks_per_transaction',
];

export interface PgReplica {
  /** DATABASE_REPLICA_URL: the primary's URL with this server's host and port. */
  url: string;
  server: PostgresServer;
  /** Stops applying WAL (pg_wal_replay_pause) and waits until replay has stopped: it then lags the primary. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Stops the server and deletes its data directory. */
  stop(): Promise<void>;
}

/** `url` with host 127.0.0.1 and `port`: the same database and credentials on another server. */
function onPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

/** The primary's server, through its maintenance database (the application's may not exist yet). */
function maintenanceUrl(primaryUrl: string): string {
  const u = new URL(primaryUrl);
  u.pathname = '/postgres';
  return u.toString();
}

async function describePrimary(primaryUrl: string) {
  const client = new pg.Client({ connectionString: maintenanceUrl(primaryUrl), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name = ANY($1) OR name IN ('server_version_num', 'hba_file')`,
      [STANDBY_MINIMUMS],
    );
    const settings = Object.fromEntries(rows.map((r) => [r.name, r.setting]));
    const { server_version_num: version, hba_file: hbaFile, ...minimums } = settings;
    return { major: Math.floor(Number(version) / 10_000), hbaFile: hbaFile ?? "the primary's pg_hba.conf", minimums };
  } finally {
    await client.end();
  }
}

/**
 * A streaming replica of `primaryUrl`'s server on 127.0.0.1:`port`, as a hot standby. Rejects with
 * ReplicationRefused when the primary does not accept replication connections from here.
 */
export async function startPgReplica(options: { primaryUrl: string; port: number }): Promise<PgReplica> {
  const { primaryUrl, port } = options;
  const primary = await describePrimary(primaryUrl);
  const binDir = serverBinDir(primary.major);
  const dataDir = await makeDataDir('dawg-pg-replica-');
  const server = new PostgresServer(binDir, dataDir, port, { ...primary.minimums, hot_standby: 'on', fsync: 'off' });
  try {
    const source = maintenanceUrl(primaryUrl);
    await runServerProgram(binDir, 'pg_basebackup', [
      '-d',
      source,
      '-D',
      dataDir,
      // -R: standby.signal and primary_conninfo, so the copy starts as a standby streaming from the primary.
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
      '--no-sync',
    ]).catch((err: Error) => {
      if (/pg_hba\.conf.*replication/i.test(err.message))
        throw new ReplicationRefused(
          `the primary at ${new URL(source).host} refuses replication connections: add "${REPLICATION_HBA_LINE}" to ${primary.hbaFile} and reload it (SELECT pg_reload_conf())`,
        );
      throw err;
    });
    // A packaged cluster (Debian) keeps its configuration outside the data directory: the copy gets its own.
    const user = serverUser();
    const files = {
      'postgresql.conf': '',
      'pg_ident.conf': '',
      'pg_hba.conf': 'local all all trust\nhost all all 127.0.0.1/32 trust\n',
    };
    for (const [name, text] of Object.entries(files)) {
      const path = join(dataDir, name);
      if (existsSync(path)) continue;
      await writeFile(path, text);
      if (user) await chown(path, user.uid, user.gid);
    }
    await server.start();
  } catch (err) {
    await server.destroy();
    throw err;
  }
  const url = onPort(primaryUrl, port);
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: server.url() });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    url,
    server,
    async pauseReplay() {
      await admin('SELECT pg_wal_replay_pause()');
      for (let i = 0; i < 200; i++) {
        const [row] = await admin('SELECT pg_get_wal_replay_pause_state() AS state');
        if (row?.state === 'paused') return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('WAL replay did not pause');
    },
    async resumeReplay() {
      await admin('SELECT pg_wal_replay_resume()');
    },
    stop: () => server.destroy(),
  };
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '5433' }, primary: { type: 'string' } },
  });
  const primaryUrl = values.primary ?? loadConfigOrExit().DATABASE_URL;
  const replica = await startPgReplica({ primaryUrl, port: Number(values.port) }).catch((err: Error) => {
    console.error(err instanceof ReplicationRefused ? err.message : `pg:replica: ${err.message}`);
    process.exit(1);
  });
  console.log(
    `PostgreSQL streaming replica of ${new URL(primaryUrl).host} on 127.0.0.1:${values.port} (data in ${replica.server.dataDir}).`,
  );
  console.log('Run dawg against it with:');
  console.log(`  export DATABASE_REPLICA_URL=${replica.url}`);
  console.log('Ctrl-C stops it.');
  stopOnSignal(() => replica.stop());
}
