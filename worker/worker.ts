/**
 * The generation worker: a BullMQ Worker on the shared queue definition.
 * buildWorker returns { start, stop } and touches no globals, like buildApp.
 */
import { type Job, Worker } from 'bullmq';
import type { Config } from '../src/config.js';
import { createPrisma } from '../src/db/client.js';
import { GENERATION_QUEUE, queuePrefix } from '../src/jobs/generation-job.js';
import { transition } from '../src/modules/generations/generation-state.js';
import { createLogger, type Logger } from '../src/logger.js';
import { PubSub } from '../src/pubsub.js';
import { closeRedis, createRedis } from '../src/redis.js';
import { createStorage } from '../src/storage/index.js';
import type { WorkerDeps } from './deps.js';
import { type Handlers, createProcessor, defaultHandlers } from './processor.js';

export function buildWorker(config: Config, options: { log?: Logger; handlers?: Handlers } = {}) {
  const log = options.log ?? createLogger(config, 'dawg-worker');
  const prisma = createPrisma({
    ...config,
    DATABASE_POOL_SIZE: Math.min(config.DATABASE_POOL_SIZE, config.WORKER_CONCURRENCY + 2),
  });
  const redis = createRedis(config.REDIS_URL, log, 'dawg-worker');
  // BullMQ's blocking connection must retry forever rather than fail commands.
  const queueConnection = createRedis(config.REDIS_URL, log, 'dawg-worker-bullmq', { maxRetriesPerRequest: null });
  const pubsub = new PubSub(redis, redis, config.REDIS_PREFIX);
  const deps: WorkerDeps = { config, prisma, pubsub, storage: createStorage(config), log };
  let worker: Worker | null = null;

  return {
    deps,
    async start(): Promise<void> {
      worker = new Worker(GENERATION_QUEUE, createProcessor(deps, options.handlers ?? defaultHandlers), {
        connection: queueConnection,
        prefix: queuePrefix(config.REDIS_PREFIX),
        concurrency: config.WORKER_CONCURRENCY,
        lockDuration: config.WORKER_LOCK_MS,
        stalledInterval: config.WORKER_LOCK_MS,
        maxStalledCount: 2,
        autorun: true,
      });
      // Safety net: a job BullMQ fails without our processor finishing (stalled too often,
      // lost lock) must not leave its generation in PROCESSING.
      worker.on('failed', (job: Job | undefined, err: Error) => {
        if (!job || (job.attemptsMade < (job.opts.attempts ?? 1) && !/stalled/i.test(err.message))) return;
        const id = (job.data as { generationId?: string }).generationId;
        if (!id) return;
        void transition(deps, id, { status: 'FAILED', stage: 'failed', error: err.message, completedAt: new Date() }, [
          'PENDING',
          'PROCESSING',
        ]).catch((e) => log.error({ err: e, generationId: id }, 'could not mark generation failed'));
      });
      worker.on('error', (err) => log.warn({ err: err.message }, 'worker error'));
      await worker.waitUntilReady();
      log.info({ concurrency: config.WORKER_CONCURRENCY }, 'dawg worker ready');
    },
    /** Finishes running jobs (up to the lock), then closes connections. */
    async stop(): Promise<void> {
      await worker?.close();
      await Promise.allSettled([closeRedis(redis), closeRedis(queueConnection), prisma.$disconnect()]);
      log.info('dawg worker stopped');
    },
  };
}
