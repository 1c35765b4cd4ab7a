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
 * The seed's settings: 3 attempts, exponential backoff from 2 s; the run's job id; the queue priority
 * (BullMQ: 1 goes first; Generation.priority).
 */
export const GENERATION_ATTEMPTS = 3;
export const generationJobOptions = (g: { id: string; run: number; priority: number }) => ({
  jobId: generationJobId(g.id, g.run),
  priority: g.priority,
  attempts: GENERATION_ATTEMPTS,
  backoff: { type: 'exponential' as const, delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
});

/** All of a deployment's queue keys share one hash slot: `{dawg:}generation:…`-style on Redis Cluster. */
export const queuePrefix = (redisPrefix: string) => `{${redisPrefix.replace(/[{}]/g, '') || 'dawg'}bull}`;

export function createGenerationQueue(connection: ConnectionOptions, redisPrefix: string): Queue<GenerationJob> {
  return new Queue<GenerationJob>(GENERATION_QUEUE, { connection, prefix: queuePrefix(redisPrefix) });
}
