/**
 * A scratch PostgreSQL primary of a test's own (initdb in a temp directory, on a free port), so the
 * replica tests can pause, stop and copy it without touching the machine's cluster or its
 * pg_hba.conf. initdb's pg_hba.conf already accepts replication connections from 127.0.0.1.
 */
import { makeDataDir, PostgresServer, runServerProgram, serverBinDir } from '../../scripts/lib/postgres-server.js';

export async function startScratchPrimary(port: number): Promise<PostgresServer> {
  const binDir = serverBinDir();
  const dataDir = await makeDataDir('dawg-pg-primary-');
  const server = new PostgresServer(binDir, dataDir, port, { fsync: 'off', wal_level: 'replica', shared_buffers: '32MB' });
  try {
    const initdb = ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'];
    await runServerProgram(binDir, 'initdb', initdb);
    await server.start();
  } catch (err) {
    await server.destroy();
    throw err;
  }
  return server;
}
