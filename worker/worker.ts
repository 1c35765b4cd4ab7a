/**
 * The generation worker: a BullMQ Worker on the shared queue definition.
 * buildWorker returns { start, stop } and touches no globals, like buildApp.
 */
import { type Job, Worker } from 'bullmq';
import type { Config } from '../src/config.js';
import { createPrisma } from '../src/db/client.js';
import { WriteMarks } from '../src/db/write-marks.js';
import {
  GENERATION_QUEUE,
  createGenerationQueue,
  generationJobId,
  addGenerationJob,
  queuePrefix,
  retryDelayMs,
} from '../src/jobs/generation-job.js';
import type { Generation } from '../src/generated/prisma/client.js';
import { classifyFailure, failureReason } from '../src/failures.js';
import { transition } from '../src/modules/generations/generation-state.js';
import { createLogger, type Logger } from '../src/logger.js';
import { PubSub } from '../src/pubsub.js';
import { settleWithin } from '../src/timeout.js';
import { closeRedis, createRedis, redisTarget } from '../src/redis.js';
import { createStorage } from '../src/storage/index.js';
import { createWorkerMetrics } from '../src/metrics.js';
import type { WorkerDeps } from './deps.js';
import { createEndpoints } from './endpoints.js';
import { EnginePool } from './engine-pool/pool.js';
import { guardedStorage } from './guarded-storage.js';
import { waitForDatabase } from './wait-for-database.js';
import { type Handlers, createProcessor, defaultHandlers } from './processor.js';
import { CLEANUP_EVERY_MS, CLEANUP_SCHEDULER, UPLOAD_QUEUE, createUploadQueue } from '../src/jobs/upload-job.js';
import { createAnalyzer } from './uploads/analyze.js';
import { cleanupUploads } from './uploads/cleanup.js';
import { featureModulesLoaded } from '../src/lazy-module.js';

/** BullMQ's own failures (stalled too often, lock lost) mean a worker went away mid-job. */
const workerLost = (err: Error) => /stalled|lock/i.test(err.message);

/** The reason a job BullMQ failed leaves on its generation (the safety net and the reconciler). */
const failedJobReason = (err: Error) => (workerLost(err) ? failureReason('WORKER_LOST') : classifyFailure(err).reason);

/** Rows the reconciler reads at a time (it reads them all, page after page). */
const RECONCILE_PAGE = 500;

export function buildWorker(config: Config, options: { log?: Logger; handlers?: Handlers } = {}) {
  const log = options.log ?? createLogger(config, 'dawg-worker');
  const prisma = createPrisma({
    ...config,
    DATABASE_POOL_SIZE: Math.min(config.DATABASE_POOL_SIZE, config.WORKER_CONCURRENCY + 2),
  });
  const redis = createRedis(redisTarget(config), log, 'dawg-worker');
  // BullMQ's blocking connection must retry forever rather than fail commands.
  const queueConnection = createRedis(redisTarget(config), log, 'dawg-worker-bullmq', { maxRetriesPerRequest: null });
  const pubsub = new PubSub(redis, redis, config.REDIS_PREFIX);
  // The worker reads and writes the primary only (every job writes); with read replicas it leaves marks
  // so an owner's next lag-tolerant read sees their generation's new state.
  const marks = config.DATABASE_REPLICA_URL.length
    ? new WriteMarks({ prisma, redis, prefix: config.REDIS_PREFIX, maxLagMs: config.DATABASE_REPLICA_MAX_LAG_MS })
    : null;
  const engine = new EnginePool(config.WORKER_THREADS, { releaseIdleMs: config.HEAP_TRIM_IDLE_MS, log });
  const deps: WorkerDeps = { config, prisma, marks, pubsub, storage: guardedStorage(createStorage(config)), log, engine };
  let worker: Worker | null = null;
  let uploadWorker: Worker | null = null;
  const queue = createGenerationQueue(queueConnection, config.REDIS_PREFIX);
  queue.on('error', (err) => log.debug({ err: err.message }, 'generation queue error'));
  const uploadQueue = createUploadQueue(queueConnection, config.REDIS_PREFIX);
  uploadQueue.on('error', (err) => log.debug({ err: err.message }, 'upload queue error'));
  const metrics = createWorkerMetrics(
    {
      [GENERATION_QUEUE]: () => queue.getJobCounts(),
      [UPLOAD_QUEUE]: () => uploadQueue.getJobCounts(),
    },
    engine,
  );
  let shuttingDown = false;
  const endpoints = createEndpoints(
    config,
    {
      probes: {
        database: () => prisma.$queryRaw`SELECT 1`,
        redis: () => queueConnection.ping(),
        // Taking jobs: the BullMQ worker is connected and running.
        queue: async () => {
          if (!worker?.isRunning() || !uploadWorker?.isRunning()) throw new Error('not taking jobs');
        },
      },
      isShuttingDown: () => shuttingDown,
      metrics,
    },
    log,
  );
  let reconcileTimer: NodeJS.Timeout | null = null;

  /**
   * PostgreSQL is the source of truth. Every PENDING or PROCESSING generation untouched for two lock
   * periods is looked at, all of them, a page at a time in a stable order, by its run's job *state*:
   * - no job (Redis lost its data, or the enqueue never landed): queued again;
   * - a failed job (its last write was lost, e.g. PostgreSQL was down then): FAILED with the job's reason;
   * - a completed job whose result never reached the row: queued again as a new run;
   * - a job waiting, delayed or running: left alone.
   * Runs at start and every lock period.
   */
  async function reconcile(): Promise<{ requeued: number; failed: number }> {
    const before = new Date(Date.now() - 2 * config.WORKER_LOCK_MS);
    const outcome = { requeued: 0, failed: 0 };
    let cursor: { updatedAt: Date; id: string } | null = null;
    for (;;) {
      const page: Generation[] = await prisma.generation.findMany({
        where: {
          status: { in: ['PENDING', 'PROCESSING'] },
          updatedAt: { lt: before },
          ...(cursor && {
            OR: [{ updatedAt: { gt: cursor.updatedAt } }, { updatedAt: cursor.updatedAt, id: { gt: cursor.id } }],
          }),
        },
        orderBy: [{ updatedAt: 'asc' }, { id: 'asc' }],
        take: RECONCILE_PAGE,
      });
      for (const g of page) {
        const result = await reconcileOne(g).catch((err) => {
          log.warn({ err: err.message, generationId: g.id }, 'could not reconcile a generation');
          return null;
        });
        if (result) outcome[result]++;
      }
      const last = page.at(-1);
      if (!last || page.length < RECONCILE_PAGE) break;
      cursor = { updatedAt: last.updatedAt, id: last.id };
    }
    if (outcome.requeued || outcome.failed) log.warn(outcome, 'reconciled generations left behind by their jobs');
    return outcome;
  }

  async function reconcileOne(g: Generation): Promise<'requeued' | 'failed' | null> {
    const job = await queue.getJob(generationJobId(g.id, g.run));
    const state = job ? await job.getState() : 'unknown';
    if (state === 'failed') {
      const reason = failedJobReason(new Error(job?.failedReason ?? 'failed'));
      const done = await transition(
        deps,
        g.id,
        { status: 'FAILED', stage: 'failed', error: reason, completedAt: new Date() },
        ['PENDING', 'PROCESSING'],
        g.run,
      );
      return done ? 'failed' : null;
    }
    if (state === 'completed') {
      // Its result never reached the row: a new run does the work again (outputs go to the same keys).
      const again = await transition(
        deps,
        g.id,
        { status: 'PENDING', stage: 'queued', run: { increment: 1 }, queuedAt: new Date() },
        ['PENDING', 'PROCESSING'],
        g.run,
      );
      if (!again) return null;
      await addGenerationJob(queue, again);
      return 'requeued';
    }
    if (state !== 'unknown') return null; // waiting, prioritized, delayed or active: it will run
    // A job whose data survived but that is in no list (a Redis failover lost the write that listed
    // it) would make the add below a no-op forever: it is removed first.
    if (job) await job.remove().catch((err) => log.warn({ err, jobId: job.id }, 'orphaned job could not be removed'));
    await addGenerationJob(queue, g);
    return 'requeued';
  }

  const stopping = new AbortController();

  return {
    deps,
    metrics,
    /** The base URL of /health, /ready and /metrics, once start() has begun listening. */
    url: () => endpoints.url(),
    /**
     * Waits for the database (created and migrated by the api), then takes jobs and reconciles.
     * Resolves without starting when stop() is called while it waits.
     */
    async start(): Promise<void> {
      // The S3 client when STORAGE_DRIVER=s3 (src/lazy-module.ts): a broken install stops here.
      await featureModulesLoaded();
      // First: /health answers and /ready says "not ready" while the database is awaited.
      await endpoints.start();
      const ready = await waitForDatabase(() => prisma.generation.findFirst({ select: { id: true } }), {
        log,
        signal: stopping.signal,
      });
      if (!ready) return;
      // Every engine thread loaded before the first job, so none is a cold one.
      await engine.warm();
      worker = new Worker(GENERATION_QUEUE, createProcessor(deps, options.handlers ?? defaultHandlers, metrics), {
        connection: queueConnection,
        prefix: queuePrefix(config.REDIS_PREFIX),
        concurrency: config.WORKER_CONCURRENCY,
        lockDuration: config.WORKER_LOCK_MS,
        stalledInterval: config.WORKER_LOCK_MS,
        maxStalledCount: 2,
        autorun: true,
        settings: { backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade) },
      });
      // Safety net: a job BullMQ fails without our processor finishing (stalled too often,
      // lost lock) must not leave its generation in PROCESSING.
      worker.on('failed', (job: Job | undefined, err: Error) => {
        const final =
          err.name === 'UnrecoverableError' || job?.attemptsMade === job?.opts.attempts || /stalled/i.test(err.message);
        if (!job || !final) return;
        const id = (job.data as { generationId?: string }).generationId;
        if (!id) return;
        // The processor counted its own failures; these BullMQ decided without it.
        if (workerLost(err)) metrics.jobFailures.inc({ type: job.name, code: 'WORKER_LOST' });
        const reason = failedJobReason(err);
        log.warn({ err, generationId: id, jobId: job.id }, 'generation failed for good');
        const run = Number((job.data as { run?: unknown }).run ?? 0);
        void transition(
          deps,
          id,
          { status: 'FAILED', stage: 'failed', error: reason, completedAt: new Date() },
          ['PENDING', 'PROCESSING'],
          Number.isInteger(run) ? run : undefined,
        ).catch((e) => log.error({ err: e, generationId: id }, 'could not mark generation failed'));
      });
      worker.on('error', (err) => log.warn({ err: err.message }, 'worker error'));
      worker.on('stalled', (jobId) => {
        metrics.jobsStalled.inc({ queue: GENERATION_QUEUE });
        log.warn({ jobId }, 'job stalled (its worker stopped renewing the lock)');
      });
      await worker.waitUntilReady();
      // Uploads: analysis one at a time (a decode holds up to 15 minutes of audio), and the cleanup.
      const analyze = createAnalyzer(deps);
      uploadWorker = new Worker(UPLOAD_QUEUE, (job) => (job.name === CLEANUP_SCHEDULER ? cleanupUploads(deps) : analyze(job)), {
        connection: queueConnection,
        prefix: queuePrefix(config.REDIS_PREFIX),
        concurrency: 1,
        lockDuration: config.WORKER_LOCK_MS,
        stalledInterval: config.WORKER_LOCK_MS,
      });
      uploadWorker.on('error', (err) => log.warn({ err: err.message }, 'upload worker error'));
      await uploadWorker.waitUntilReady();
      await uploadQueue.upsertJobScheduler(CLEANUP_SCHEDULER, { every: CLEANUP_EVERY_MS }, { name: CLEANUP_SCHEDULER });
      await reconcile().catch((err) => log.warn({ err: err.message }, 'reconcile failed'));
      reconcileTimer = setInterval(
        () => void reconcile().catch((err) => log.warn({ err: err.message }, 'reconcile failed')),
        config.WORKER_LOCK_MS,
      );
      reconcileTimer.unref();
      // Last: tests and scripts take this line as "ready" and read the url from it.
      log.info({ concurrency: config.WORKER_CONCURRENCY, threads: engine.threads, url: endpoints.url() }, 'dawg worker ready');
    },
    /** Finishes running jobs (up to the lock), then closes connections. */
    reconcile,
    /** Deletes uploads never completed (what the repeatable CLEANUP job runs). */
    cleanupUploads: (now?: number) => cleanupUploads(deps, now),
    async stop(): Promise<void> {
      shuttingDown = true;
      stopping.abort();
      if (reconcileTimer) clearInterval(reconcileTimer);
      // A graceful close waits for Redis; if Redis is unreachable, force it after the lock period.
      const closing = Promise.all([worker?.close(), uploadWorker?.close()]);
      const closed = await Promise.race([
        closing?.then(() => true),
        new Promise((r) => setTimeout(() => r(false), config.WORKER_LOCK_MS)),
      ]);
      // Each step is bounded: a close that waits for a Redis node that died (a cluster after a
      // failover) would otherwise hold the process forever.
      if (!closed) await settleWithin(Promise.all([worker?.close(true), uploadWorker?.close(true)]), 5_000);
      await settleWithin(Promise.all([queue.close(), uploadQueue.close()]), 5_000);
      await Promise.allSettled([closeRedis(redis), closeRedis(queueConnection), prisma.$disconnect(), engine.close()]);
      await endpoints.stop();
      log.info('dawg worker stopped');
    },
  };
}
