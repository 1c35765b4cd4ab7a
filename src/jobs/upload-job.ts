/**
 * The upload jobs, shared by api (enqueue) and worker (process): ANALYZE verifies, decodes and
 * analyses one completed upload; CLEANUP (repeatable) deletes uploads never completed. A queue of
 * their own, so an analysis a client waits for does not queue behind generations.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import { z } from 'zod';
import { queuePrefix } from './generation-job.js';

export const UPLOAD_QUEUE = 'upload';

export const analyzeJobSchema = z.object({ uploadId: z.uuid() });
export type AnalyzeJob = z.infer<typeof analyzeJobSchema>;
export type UploadJob = AnalyzeJob | Record<string, never>;

/** Three attempts for what is not the file's fault (storage, database); job id = upload id. */
export const analyzeJobOptions = (uploadId: string) => ({
  jobId: `analyze-${uploadId}`,
  attempts: 3,
  backoff: { type: 'exponential' as const, delay: 1_000 },
  removeOnComplete: { age: 3600, count: 1_000 },
  removeOnFail: { age: 24 * 3600 },
});

/** The cleanup's schedule: every 15 minutes, one scheduler whatever the number of workers. */
export const CLEANUP_SCHEDULER = 'upload-cleanup';
export const CLEANUP_EVERY_MS = 15 * 60_000;

export function createUploadQueue(connection: ConnectionOptions, redisPrefix: string): Queue<UploadJob> {
  return new Queue<UploadJob>(UPLOAD_QUEUE, { connection, prefix: queuePrefix(redisPrefix) });
}
