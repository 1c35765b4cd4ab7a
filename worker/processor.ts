/**
 * Runs one generation job: PENDING → PROCESSING → stages → COMPLETED, or
 * FAILED with the reason after the last attempt (at once for bad input).
 * Every change goes through `transition`, conditional on the row's status,
 * so a cancellation wins over a late write and nothing is left in PROCESSING.
 */
import { type Job, UnrecoverableError } from 'bullmq';
import type { GenerationType } from '../src/generated/prisma/client.js';
import { type GenerationJob, generationJobSchema } from '../src/jobs/generation-job.js';
import { transition } from '../src/modules/generations/generation-state.js';
import type { WorkerDeps } from './deps.js';
import { CancelledError } from './errors.js';
import { beatHandler } from './handlers/beat.js';
import { masterHandler } from './handlers/master.js';
import { mixHandler } from './handlers/mix.js';
import { stemsHandler } from './handlers/stems.js';
import type { Handler } from './handlers/types.js';

export type Handlers = Record<GenerationType, Handler>;
export const defaultHandlers: Handlers = { BEAT: beatHandler, STEMS: stemsHandler, MASTER: masterHandler, MIX: mixHandler };

export type JobResult = 'completed' | 'cancelled' | 'skipped';

export function createProcessor(deps: WorkerDeps, handlers: Handlers = defaultHandlers) {
  return async function processGeneration(job: Job): Promise<JobResult> {
    const parsed = generationJobSchema.safeParse(job.data);
    if (!parsed.success) {
      const id = (job.data as { generationId?: unknown } | undefined)?.generationId;
      const reason = `invalid job payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
      if (typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id)) {
        await transition(deps, id, { status: 'FAILED', stage: 'failed', error: reason, completedAt: new Date() }, [
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
    );
    if (!running) return 'cancelled';
    const report = async (stage: string, percent: number) => {
      await job.updateProgress(percent);
      const updated = await transition(deps, id, { stage, progress: percent }, ['PROCESSING']);
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
      );
      deps.log.info(
        { generationId: id, type: payload.type, ms: Date.now() - started, outcome: done ? 'completed' : 'cancelled' },
        'generation finished',
      );
      return done ? 'completed' : 'cancelled';
    } catch (err) {
      if (err instanceof CancelledError) {
        deps.log.info({ generationId: id }, 'generation cancelled while running');
        return 'cancelled';
      }
      const reason = err instanceof Error ? err.message : String(err);
      const last = err instanceof UnrecoverableError || attempt >= (job.opts.attempts ?? 1);
      deps.log.warn({ err, generationId: id, attempt, last }, 'generation attempt failed');
      await transition(
        deps,
        id,
        last
          ? { status: 'FAILED', stage: 'failed', error: reason, completedAt: new Date(), durationMs: Date.now() - started }
          : { status: 'PENDING', stage: 'retrying', error: `attempt ${attempt} failed: ${reason}` },
        ['PROCESSING'],
      );
      throw err;
    }
  };
}
