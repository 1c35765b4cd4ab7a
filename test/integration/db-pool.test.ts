/**
 * The PostgreSQL pool keeps the connections it opened (src/db/client.ts): node-postgres alone closes
 * one idle for 10 s, and a burst after that waits for new backends to start.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeDb, createPool, createPrisma } from '../../src/db/client.js';
import { createLogger } from '../../src/logger.js';
import { testConfig } from '../helpers/harness.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('PostgreSQL pool', () => {
  it('keeps its connections open however long they sit idle', async () => {
    const pool = createPool(testConfig());
    try {
      // node-postgres's idle timers are faked from the start. Three queries at once: three connections.
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      await Promise.all([1, 2, 3].map(() => pool.query('SELECT pg_sleep(0.05)')));
      expect(pool.totalCount).toBe(3);
      // A minute idle.
      vi.advanceTimersByTime(60_000);
      vi.useRealTimers();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(pool.totalCount).toBe(3);
      expect(pool.idleCount).toBe(3);
    } finally {
      vi.useRealTimers();
      await pool.end();
    }
  });

  it('ends with Prisma even when only the SQL statements used it', async () => {
    const config = testConfig();
    // Prisma never connects: its $disconnect alone leaves this pool (and its connection) open.
    const alone = createPool(config);
    await alone.query('SELECT 1');
    await createPrisma(config, { pool: alone }).$disconnect();
    expect(alone.ending).toBe(false);
    await alone.end();

    const pool = createPool(config);
    await pool.query('SELECT 1');
    expect(pool.totalCount).toBe(1);
    await closeDb(createPrisma(config, { pool }), pool);
    expect(pool.ended).toBe(true);
    expect(pool.totalCount).toBe(0);
  });

  it('ends once when Prisma has connected and ended it', async () => {
    const config = testConfig();
    const pool = createPool(config);
    const prisma = createPrisma(config, { pool });
    await prisma.$queryRaw`SELECT 1`;
    await closeDb(prisma, pool);
    expect(pool.ended).toBe(true);
  });

  it('drops a kept connection the server ends, logs it, and opens a new one for the next query', async () => {
    const lines: string[] = [];
    const log = createLogger({ LOG_LEVEL: 'debug' }, 'test', { write: (line: string) => void lines.push(line) });
    const pool = createPool(testConfig(), { log, name: 'primary' });
    try {
      const pid = (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      expect(pool.idleCount).toBe(1);
      // Another session ends the idle backend, as a server restart or an administrator would.
      const other = createPool(testConfig());
      await other.query('SELECT pg_terminate_backend($1)', [pid]);
      await other.end();
      await vi.waitFor(() => expect(pool.totalCount).toBe(0));
      expect(lines.some((line) => line.includes('primary pool error'))).toBe(true);
      const next = (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      expect(next).not.toBe(pid);
    } finally {
      await pool.end();
    }
  });
});
