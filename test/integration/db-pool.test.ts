/**
 * The PostgreSQL pool keeps the connections it opened (src/db/client.ts): node-postgres alone closes
 * one idle for 10 s, and a burst after that waits for new backends to start.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPool } from '../../src/db/client.js';
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
});
