import { randomInt } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Access } from '../../access/access.js';
import type { Db, Sql } from '../../db/client.js';
import { type Generation, type GenerationType, Prisma } from '../../generated/prisma/client.js';
import { badInput } from '../../errors.js';
import { GENERATION_QUEUE, type GenerationJob, addGenerationJob, generationJobId } from '../../jobs/generation-job.js';
import { insertWithinCap, withinCap } from './pending-cap.js';
import { queuePriority } from './queue-order.js';
import { inSpan, SpanKind, traceCarrier } from '../../tracing.js';
import type { Logger } from '../../logger.js';
import type { PubSub } from '../../pubsub.js';
import { parseInput } from '../../validation.js';
import { withTimeout } from '../../timeout.js';
import type { Viewer } from '../auth/viewer.js';
import { publishGeneration, transition } from './generation-state.js';
import { beatInputRules, targetLufsRule } from './generation.rules.js';
import { requireOneSource, requireReadyUpload } from '../uploads/ready-upload.js';
import { withFields } from '../../with-fields.js';

export interface GenerateBeatArgs {
  genre: string;
  bpm: number;
  key: string;
  mood?: string | null;
  durationSec?: number | null;
  seed?: number | null;
  targetLufs?: number | null;
  projectId?: string | null;
}

/** How long a mutation waits for Redis to take a job before answering with the generation waiting for the queue. */
const ENQUEUE_TIMEOUT_MS = 1_000;

/** Types whose output includes a mastered WAV (so they can be stemmed, re-mastered or mixed). */
const HAS_AUDIO: GenerationType[] = ['BEAT', 'MASTER', 'MIX'];

export class GenerationService {
  constructor(
    private readonly deps: {
      prisma: Db;
      /** The pool Prisma runs over: a new generation's one statement goes straight to it (pending-cap.ts). */
      sql: Sql;
      pubsub: PubSub;
      queue: Queue<GenerationJob>;
      access: Access;
      log: Logger;
      /** GENERATION_MAX_PENDING */
      maxPending: number;
      /** MIX_MAX_TRACKS: the worker holds the mix plus one source at a time, but each source costs a decode. */
      mixMaxTracks: number;
    },
  ) {}

  async generateBeat(viewer: Viewer, args: GenerateBeatArgs): Promise<Generation> {
    const { projectId, ...rest } = args;
    const input = parseInput(beatInputRules, rest);
    // A beat made for a project adds to it.
    if (projectId != null) await this.deps.access.project.require(viewer, projectId, 'write');
    return this.create(viewer, 'BEAT', withFields(input, { seed: input.seed ?? randomInt(2 ** 31 - 1) }), projectId ?? null);
  }

  async createStems(viewer: Viewer, generationId: string): Promise<Generation> {
    const source = await this.requireFinished(viewer, generationId, ['BEAT'], 'generationId');
    return this.create(viewer, 'STEMS', { sourceGenerationId: source.id }, source.projectId);
  }

  /** Re-masters a finished generation or a READY upload (exactly one of the two). */
  async masterTrack(
    viewer: Viewer,
    source: { generationId: string | null; uploadId: string | null },
    targetLufs: number | null | undefined,
  ): Promise<Generation> {
    const target = parseInput(targetLufsRule.nullish(), targetLufs) ?? -14;
    requireOneSource(source);
    if (source.uploadId) {
      // Its result goes into the upload's project, so this writes there.
      const upload = await requireReadyUpload(this.deps.access, viewer, source.uploadId, 'uploadId', 'write');
      return this.create(viewer, 'MASTER', { sourceUploadId: upload.id, targetLufs: target }, upload.projectId);
    }
    const generation = await this.requireFinished(viewer, source.generationId as string, HAS_AUDIO, 'generationId');
    return this.create(viewer, 'MASTER', { sourceGenerationId: generation.id, targetLufs: target }, generation.projectId);
  }

  async mixProject(viewer: Viewer, projectId: string, targetLufs?: number | null): Promise<Generation> {
    const target = parseInput(targetLufsRule.nullish(), targetLufs) ?? -14;
    await this.deps.access.project.require(viewer, projectId, 'write');
    // Only what is mixed (unmuted; finished generations and READY uploads), and one more than the cap to tell it is over.
    const max = this.deps.mixMaxTracks;
    const tracks = await this.deps.prisma.track.findMany({
      where: {
        projectId,
        muted: false,
        OR: [{ generation: { status: 'COMPLETED', type: { in: HAS_AUDIO } } }, { upload: { status: 'READY' } }],
      },
      orderBy: { position: 'asc' },
      take: max + 1,
    });
    if (!tracks.length) throw badInput('projectId', 'the project has no finished, unmuted tracks to mix');
    if (tracks.length > max) throw badInput('projectId', `a mix takes at most ${max} unmuted tracks; mute or remove some`);
    const snapshot = tracks.map((t) => ({
      ...(t.uploadId ? { uploadId: t.uploadId } : { generationId: t.generationId as string }),
      gainDb: t.gainDb,
      pan: t.pan,
      muted: t.muted,
    }));
    return this.create(viewer, 'MIX', { projectId, targetLufs: target, tracks: snapshot }, projectId);
  }

  /** Stops a pending or running generation; the worker checks between stages. */
  async cancel(viewer: Viewer, id: string): Promise<Generation> {
    await this.deps.access.generation.require(viewer, id, 'write');
    const cancelled = await transition(this.deps, id, { status: 'CANCELLED', stage: 'cancelled', completedAt: new Date() }, [
      'PENDING',
      'PROCESSING',
    ]);
    if (!cancelled) throw badInput('id', 'only a PENDING or PROCESSING generation can be cancelled');
    // A job still waiting is removed outright; a running one is stopped by the worker at its next stage.
    await this.deps.queue.remove(generationJobId(id, cancelled.run)).catch(() => 0);
    return cancelled;
  }

  /**
   * Runs a FAILED or CANCELLED generation again, from the start, as a new run with a job of its own:
   * a cancelled job that is still going finds its run superseded at its next stage and stops.
   */
  async retry(viewer: Viewer, id: string): Promise<Generation> {
    const row = await this.deps.access.generation.require(viewer, id, 'write');
    // Published after the commit: a subscriber never sees a state that may yet roll back, and the
    // transaction never waits on Redis.
    const reset = await withinCap(this.deps.prisma, viewer, this.deps.maxPending, (prisma, pending) =>
      transition(
        { prisma, pubsub: null },
        id,
        {
          status: 'PENDING',
          progress: 0,
          stage: 'queued',
          error: null,
          output: Prisma.DbNull,
          completedAt: null,
          startedAt: null,
          durationMs: null,
          attempts: 0,
          run: { increment: 1 },
          priority: queuePriority(pending, row.type, row.input),
          queuedAt: new Date(),
        },
        ['FAILED', 'CANCELLED'],
      ),
    );
    if (!reset) throw badInput('id', 'only a FAILED or CANCELLED generation can be retried');
    await publishGeneration(this.deps.pubsub, reset);
    return this.enqueue(reset);
  }

  private async requireFinished(viewer: Viewer, id: string, types: GenerationType[], field: string): Promise<Generation> {
    // Its result goes into the source's project, so this writes there.
    const source = await this.deps.access.generation.require(viewer, id, 'write');
    if (source.status !== 'COMPLETED') throw badInput(field, `generation is ${source.status}, not COMPLETED`);
    if (!types.includes(source.type))
      throw badInput(field, `a ${source.type} generation cannot be used here (needs ${types.join(' or ')})`);
    return source;
  }

  private async create(
    viewer: Viewer,
    type: GenerationType,
    input: Prisma.InputJsonValue,
    projectId: string | null,
  ): Promise<Generation> {
    const generation = await insertWithinCap(this.deps.sql, viewer, { type, input, projectId }, this.deps.maxPending);
    // Not awaited: the mutation need not wait for subscribers' delivery (publishGeneration never rejects).
    // The event and the job use different Redis connections (commands, and BullMQ's own), so Redis does
    // not order them for us. The publish is written in this turn of the event loop, the job's script at
    // least one turn later, so PENDING is published before a worker can take the job, except while the
    // command connection is reconnecting; then events are best effort and subscribers read the row.
    void publishGeneration(this.deps.pubsub, generation);
    return this.enqueue(generation);
  }

  /**
   * Queues the job. If Redis is unreachable, or does not take the job within ENQUEUE_TIMEOUT_MS (BullMQ
   * waits for its connection), the generation stays PENDING ("waiting for queue") and the mutation
   * answers at once: the worker's reconciler queues it when Redis is back (an add that lands late
   * is the same job id, so nothing runs twice).
   */
  private async enqueue(generation: Generation): Promise<Generation> {
    try {
      await withTimeout(
        inSpan(
          'queue.add generation',
          // The trace continues in the worker from here (traceCarrier is undefined when tracing is off).
          () => addGenerationJob(this.deps.queue, generation, traceCarrier()),
          {
            kind: SpanKind.PRODUCER,
            attributes: { 'messaging.destination.name': GENERATION_QUEUE, 'dawg.generation_id': generation.id },
          },
        ),
        ENQUEUE_TIMEOUT_MS,
      );
      return generation;
    } catch (err) {
      this.deps.log.warn(
        { err: (err as Error).message, generationId: generation.id },
        'queue unavailable; generation left for the reconciler',
      );
      return (await transition(this.deps, generation.id, { stage: 'waiting for queue' }, ['PENDING'])) ?? generation;
    }
  }
}
