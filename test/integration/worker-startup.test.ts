/**
 * Startup order: a worker started before its database exists (as under
 * `npm start`, where the api creates and migrates it) waits instead of failing
 * its first reconcile, then becomes ready and makes generations.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createPrisma } from '../../src/db/client.js';
import { dropDatabase, ensureDatabase } from '../../src/db/ensure-database.js';
import { applyMigrations } from '../../src/db/schema-engine.js';
import { createGenerationQueue, generationJobOptions } from '../../src/jobs/generation-job.js';
import { createRedis } from '../../src/redis.js';
import { buildWorker } from '../../worker/worker.js';
import { waitForDatabase } from '../../worker/wait-for-database.js';
import { testConfig, until } from '../helpers/harness.js';

const silent = pino({ level: 'silent' });

describe('a worker started before its database', () => {
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/dawg_test_late_${randomBytes(4).toString('hex')}`;
  const databaseUrl = url.toString();
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
    await dropDatabase(databaseUrl);
  });

  it('waits, then becomes ready once the database is created and migrated, and makes a beat', async () => {
    const logs: string[] = [];
    const storageDir = await mkdtemp(join(tmpdir(), 'dawg-storage-'));
    cleanup.push(() => rm(storageDir, { recursive: true, force: true }));
    const env = {
      DATABASE_URL: databaseUrl,
      STORAGE_DIR: storageDir,
      REDIS_PREFIX: `${inject('redisPrefix')}${randomBytes(3).toString('hex')}:`,
      WORKER_CONCURRENCY: '1',
    };
    const config = testConfig(env);
    const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
    const worker = buildWorker(config, { log });
    cleanup.push(() => worker.stop());
    let ready = false;
    const starting = worker.start().then(() => {
      ready = true;
    });

    // The database does not exist: the worker keeps trying, and is not ready.
    await until(async () => logs.filter((l) => l.includes('database not ready')).length >= 2, 10_000);
    expect(ready).toBe(false);
    expect(logs.some((l) => l.includes('waiting for the database') && /does not exist/.test(l))).toBe(true);
    expect(logs.some((l) => l.includes('dawg worker ready') || l.includes('reconcile failed'))).toBe(false);

    // What the api does at start (MIGRATE_ON_START).
    await ensureDatabase(databaseUrl);
    await applyMigrations(databaseUrl);
    await starting;
    expect(ready).toBe(true);
    expect(logs.some((l) => l.includes('database ready'))).toBe(true);
    expect(logs.some((l) => l.includes('dawg worker ready'))).toBe(true);

    // It takes jobs: a beat queued the way the api queues it completes.
    const prisma = createPrisma(config);
    cleanup.push(() => prisma.$disconnect());
    const user = await prisma.user.create({
      data: { email: `late-${randomBytes(4).toString('hex')}@example.com`, passwordHash: 'x' },
    });
    const generation = await prisma.generation.create({
      data: {
        userId: user.id,
        type: 'BEAT',
        status: 'PENDING',
        stage: 'queued',
        input: { genre: 'lofi', bpm: 90, key: 'A minor', mood: 'mellow', durationSec: 5, seed: 7, targetLufs: -14 },
      },
    });
    const connection = createRedis(config.REDIS_URL, silent, 'test-queue');
    const queue = createGenerationQueue(connection, config.REDIS_PREFIX);
    cleanup.push(async () => {
      await queue.close();
      connection.disconnect();
    });
    await queue.add('BEAT', { generationId: generation.id, userId: user.id, type: 'BEAT' }, generationJobOptions(generation));
    await until(
      async () => (await prisma.generation.findUnique({ where: { id: generation.id } }))?.status === 'COMPLETED',
      30_000,
    );
  }, 90_000);
});

describe('waitForDatabase', () => {
  it('retries a probe against a real closed port with backoff, and stops when aborted', async () => {
    const url = new URL(inject('databaseUrl'));
    url.port = '1'; // nothing listens on port 1: connection refused
    const prisma = createPrisma({ DATABASE_URL: url.toString(), DATABASE_POOL_SIZE: 1 });
    const ac = new AbortController();
    let probes = 0;
    const waiting = waitForDatabase(
      () => {
        probes++;
        return prisma.$queryRaw`SELECT 1`;
      },
      { log: silent, signal: ac.signal, firstDelayMs: 20, maxDelayMs: 80 },
    );
    await until(async () => probes >= 4, 10_000);
    ac.abort();
    expect(await waiting).toBe(false);
    const after = probes;
    await new Promise((r) => setTimeout(r, 300));
    expect(probes).toBe(after);
    await prisma.$disconnect();
  });
});
