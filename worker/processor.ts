/**
 * Runs one generation job: PENDING → PROCESSING → stages → COMPLETED, or
 * FAILED with the reason after the last attempt (at once for bad input).
 * Every change goes through `transition`, conditional on the row's status,
 * so a cancellation wins over a late write and nothing is left in PROCESSING.
 */
import { type Job, UnrecoverableError } from 'bullmq';
import type { GenerationType } from '../src/generated/prisma/client.js';
import {
  GENERATION_ATTEMPTS,
  GENERATION_QUEUE,
  type GenerationJob,
  generationJobSchema,
  retryDelayMs,
} from '../src/jobs/generation-job.js';
import { contextFrom, inSpan, SpanKind } from '../src/tracing.js';
import { FAILURE_TEXT, type Failure, classifyFailure, failureReason, isOutage } from '../src/failures.js';
import { transition } from '../src/modules/generations/generation-state.js';
import type { WorkerMetrics } from '../src/metrics.js';
import type { WorkerDeps } from './deps.js';
import { CancelledError } from './errors.js';
import { jobTimer } from './job-timer.js';
import { queueMovedAnnouncer } from './queue-moved.js';
import { beatHandler } from './handlers/beat.js';
import { masterHandler } from './handlers/master.js';
import { mixHandler } from './handlers/mix.js';
import { stemsHandler } from './handlers/stems.js';
import type { Handler } from './handlers/types.js';

export type Handlers = Record<GenerationType, Handler>;
export const defaultHandlers: Handlers = { BEAT: beatHandler, STEMS: stemsHandler, MASTER: masterHandler, MIX: mixHandler };

export type JobResult = 'completed' | 'cancelled' | 'skipped';

/** `metrics`: the worker's, to time jobs and stages and count failures (none in tests that do not read them). */
export function createProcessor(deps: WorkerDeps, handlers: Handlers = defaultHandlers, metrics?: WorkerMetrics) {
  const queueMoved = queueMovedAnnouncer(deps);
  /** Each attempt is a span continuing the trace of the request that queued the job (src/tracing.ts). */
  return function processGeneration(job: Job): Promise<JobResult> {
    const data = (job.data ?? {}) as { generationId?: unknown; trace?: unknown };
    const carrier = generationJobSchema.shape.trace.safeParse(data.trace);
    return inSpan('generation.process', () => attempt(job), {
      kind: SpanKind.CONSUMER,
      parent: contextFrom(carrier.success ? carrier.data : undefined),
      attributes: {
        'messaging.destination.name': GENERATION_QUEUE,
        'dawg.generation_id': String(data.generationId ?? ''),
        'dawg.attempt': job.attemptsMade + 1,
      },
    });
  };

  async function attempt(job: Job): Promise<JobResult> {
    const parsed = generationJobSchema.safeParse(job.data);
    if (!parsed.success) {
      const id = (job.data as { generationId?: unknown } | undefined)?.generationId;
      const reason = `invalid job payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
      deps.log.warn({ jobId: job.id, generationId: id, reason }, 'job payload rejected');
      if (typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id)) {
        const error = failureReason('INVALID_INPUT', 'the job could not be read');
        await transition(deps, id, { status: 'FAILED', stage: 'failed', error, completedAt: new Date() }, [
          'PENDING',
          'PROCESSING',
        ]).catch(() => null);
      }
      throw new UnrecoverableError(reason);
    }
    const payload: GenerationJob = parsed.data;
    const id = payload.generationId;
    const row = await deps.prisma.generation.findUnique({ where: { id } });
    if (!row) throw new UnrecoverableError(`generation ${id} does not exist`);
    if (row.status !== 'PENDING' && row.status !== 'PROCESSING') return 'skipped';
    // A job of an earlier run (retried since): the current run has its own job.
    if (row.run !== payload.run) return 'skipped';
    const run = payload.run;

    const started = Date.now();
    const attempt = job.attemptsMade + 1;
    const running = await transition(
      deps,
      id,
      {
        status: 'PROCESSING',
        stage: 'starting',
        progress: 0,
        attempts: attempt,
        startedAt: row.startedAt ?? new Date(),
        error: null,
      },
      ['PENDING', 'PROCESSING'],
      run,
    );
    if (!running) return 'cancelled';
    // Those queued behind it moved up a place (not awaited: progress does not wait for it).
    void queueMoved().catch((err) => deps.log.debug({ err: err.message }, 'queue-moved events not sent'));
    const timer = jobTimer(metrics, payload.type);
    timer.stage('starting');
    const report = async (stage: string, percent: number) => {
      timer.stage(stage);
      await job.updateProgress(percent);
      const updated = await transition(deps, id, { stage, progress: percent }, ['PROCESSING'], run);
      if (!updated) throw new CancelledError();
    };
    try {
      const output = await handlers[payload.type](running, report, deps);
      const done = await transition(
        deps,
        id,
        {
          status: 'COMPLETED',
          stage: 'done',
          progress: 100,
          output: output as object,
          completedAt: new Date(),
          durationMs: Date.now() - started,
          cost: 0,
        },
        ['PROCESSING'],
        run,
      );
      timer.end(done ? 'completed' : 'cancelled', output.durationSec);
      deps.log.info(
        { generationId: id, type: payload.type, ms: Date.now() - started, outcome: done ? 'completed' : 'cancelled' },
        'generation finished',
      );
      return done ? 'completed' : 'cancelled';
    } catch (err) {
      if (err instanceof CancelledError) {
        timer.end('cancelled');
        deps.log.info({ generationId: id }, 'generation cancelled while running');
        return 'cancelled';
      }
      // The client reads a stable reason; the raw cause (pg, S3, engine) stays in this log line.
      const failure = classifyFailure(err);
      timer.failed(failure.code);
      const plan = retryPlan(failure, err, attempt, job.opts.attempts ?? 1, row.queuedAt, deps.config.GENERATION_DEADLINE_MS);
      deps.log.warn(
        { err, generationId: id, jobId: job.id, attempt, last: plan.last, reason: failure.code },
        'generation attempt failed',
      );
      await transition(
        deps,
        id,
        plan.last
          ? {
              status: 'FAILED',
              stage: 'failed',
              error: failure.reason,
              completedAt: new Date(),
              durationMs: Date.now() - started,
            }
          : {
              status: 'PENDING',
              stage: plan.stage,
              error: failureReason(failure.code, `${failure.detail ?? FAILURE_TEXT[failure.code]} (${plan.note})`),
            },
        ['PROCESSING'],
        run,
      );
      // BullMQ's attempt count is only a ceiling: the last attempt is ours to say.
      if (plan.last && !(err instanceof UnrecoverableError)) throw new UnrecoverableError(failure.message);
      throw err;
    }
  }
}

/**
 * Whether this attempt was the last, and what a client reads while it is not: an outage (storage, the
 * database) is waited out until `deadlineMs` after the generation was queued ("waiting for storage");
 * any other failure is tried GENERATION_ATTEMPTS times ("retrying"); a final one, or BullMQ's own
 * ceiling, ends it at once.
 */
export function retryPlan(
  failure: Failure,
  err: unknown,
  attempt: number,
  ceiling: number,
  queuedAt: Date,
  deadlineMs: number,
): { last: boolean; stage: string; note: string } {
  const outage = isOutage(failure);
  const deadline = queuedAt.getTime() + deadlineMs;
  const last =
    failure.final ||
    err instanceof UnrecoverableError ||
    attempt >= ceiling ||
    (outage ? Date.now() + retryDelayMs(attempt) > deadline : attempt >= GENERATION_ATTEMPTS);
  if (!outage) return { last, stage: 'retrying', note: `attempt ${attempt} of ${GENERATION_ATTEMPTS}, trying again` };
  const until = new Date(deadline).toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    last,
    stage: failure.code === 'STORAGE_UNAVAILABLE' ? 'waiting for storage' : 'waiting for the database',
    note: `attempt ${attempt}, trying again until ${until}`,
  };
}
