/**
 * The generation job, shared by api (enqueue) and worker (process): queue
 * name, payload schema (validated on both sides), retry policy and the
 * BullMQ prefix (with a Redis Cluster hash tag).
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import { z } from 'zod';

export const GENERATION_QUEUE = 'generation';

export const generationJobSchema = z.object({
  generationId: z.uuid(),
  userId: z.uuid(),
  type: z.enum(['BEAT', 'STEMS', 'MIX', 'MASTER']),
  /** The generation's run this job belongs to (Generation.run); jobs queued before runs existed are run 0. */
  run: z.number().int().min(0).default(0),
  /** W3C trace context of the request that queued it (src/tracing.ts), when tracing is on. */
  // Never a reason to fail a job: a carrier that does not fit is dropped (the job starts a new trace).
  trace: z.record(z.string().max(32), z.string().max(512)).optional().catch(undefined),
});
/** What a producer adds (`run` may be left out: run 0); the processor reads it parsed. */
export type GenerationJob = z.input<typeof generationJobSchema>;

/**
 * A run's job id: the generation id for its first run, then `<id>-run<n>` for each retry, so a retry
 * never meets the job of a run that is still going (BullMQ ignores an add with a job id it holds).
 */
export const generationJobId = (generationId: string, run: number) => (run ? `${generationId}-run${run}` : generationId);

/**
 * Retries: a failure of the work itself (the engine) is tried GENERATION_ATTEMPTS times; an outage
 * (storage or the database unavailable) is waited out, tried again with backoff (2 s doubling to 30 s)
 * until GENERATION_DEADLINE_MS after the generation was queued. BullMQ's own count is only a ceiling;
 * the processor decides which attempt is the last (worker/processor.ts) and ends the job there.
 */
export const GENERATION_ATTEMPTS = 3;
const ATTEMPTS_CEILING = 1_000;
export const RETRY_BACKOFF = 'dawg-retry';

/** The wait before attempt `attemptsMade + 1` (BullMQ's backoffStrategy for RETRY_BACKOFF). */
export const retryDelayMs = (attemptsMade: number) => Math.min(30_000, 2_000 * 2 ** Math.max(0, attemptsMade - 1));

/** The run's job id and the queue priority (BullMQ: 1 goes first; Generation.priority). */
export const generationJobOptions = (g: { id: string; run: number; priority: number }) => ({
  jobId: generationJobId(g.id, g.run),
  priority: g.priority,
  attempts: ATTEMPTS_CEILING,
  backoff: { type: RETRY_BACKOFF },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
});

/** Queues the job of `g`'s current run: the one way a generation's job is added (api and reconciler). */
export function addGenerationJob(
  queue: Queue<GenerationJob>,
  g: { id: string; userId: string; type: GenerationJob['type']; run: number; priority: number },
  trace?: GenerationJob['trace'],
) {
  return queue.add(g.type, { generationId: g.id, userId: g.userId, type: g.type, run: g.run, trace }, generationJobOptions(g));
}

/** All of a deployment's queue keys share one hash slot: `{dawg:}generation:…`-style on Redis Cluster. */
export const queuePrefix = (redisPrefix: string) => `{${redisPrefix.replace(/[{}]/g, '') || 'dawg'}bull}`;

export function createGenerationQueue(connection: ConnectionOptions, redisPrefix: string): Queue<GenerationJob> {
  return new Queue<GenerationJob>(GENERATION_QUEUE, { connection, prefix: queuePrefix(redisPrefix) });
}
