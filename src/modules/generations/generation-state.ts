/**
 * The one way a generation changes state, used by api and worker alike: the
 * row is updated in PostgreSQL (conditionally, so a cancelled generation is
 * never overwritten by a late worker), then the new state is published on
 * generationProgress (by id) and userGenerations (by owner).
 */
import type { Db } from '../../db/client.js';
import type { WriteMarks } from '../../db/write-marks.js';
import type { Generation, GenerationStatus, Prisma } from '../../generated/prisma/client.js';
import type { FailureReason } from '../../failures.js';
import type { PubSub } from '../../pubsub.js';
import { isRedisUnavailable, retryWhileRedisAway } from '../../redis.js';
import { withFields } from '../../with-fields.js';

/**
 * A state change; `error` only ever holds a stable reason from src/failures.ts, never an exception's
 * text. `version` is transition's to count.
 */
export type GenerationChange = Omit<Prisma.GenerationUpdateManyMutationInput, 'error' | 'version'> & {
  error?: FailureReason | null;
};

const TERMINAL = new Set<GenerationStatus>(['COMPLETED', 'FAILED', 'CANCELLED']);
/** How long the end of a generation keeps trying to reach its subscribers while Redis is away. */
const END_PUBLISH_RETRY_MS = 30_000;

/**
 * Best effort: the state is already in PostgreSQL, so a failed publish (Redis
 * away) costs live subscribers one event, not data; they get the next one, and
 * generationProgress sends the current state on (re)subscribe. The last event (the
 * generation ended) has no next one: if Redis is away or failing over, it is tried
 * again in the background until Redis answers, or for END_PUBLISH_RETRY_MS.
 */
export async function publishGeneration(pubsub: PubSub, generation: Generation): Promise<boolean> {
  const event = { generation, percent: generation.progress, stage: generation.stage };
  const publish = () =>
    Promise.all([
      pubsub.publish('generationProgress', generation.id, event),
      pubsub.publish('userGenerations', generation.userId, event),
      // A project's generations are its members' to follow.
      generation.projectId
        ? pubsub.publish('projectEvent', generation.projectId, {
            projectId: generation.projectId,
            kind: 'GENERATION_PROGRESS',
            byUserId: null,
            generation: event,
          })
        : null,
    ]);
  try {
    await publish();
    return true;
  } catch (err) {
    if (TERMINAL.has(generation.status) && isRedisUnavailable(err))
      void retryWhileRedisAway(publish, Date.now() + END_PUBLISH_RETRY_MS, { firstDelayMs: 200, maxDelayMs: 2_000 }).catch(
        () => {},
      );
    return false;
  }
}

/**
 * Applies `data` when the row's status is one of `from` (any status when omitted) and, with `run`,
 * when the row is still in that run (a worker's job of a run that was retried since changes
 * nothing); returns the updated row, or null when the row was not in `from` or `run`. A new status
 * leaves the owner a write mark (with `marks`), so their next list shows it as their event does.
 */
export async function transition(
  deps: { prisma: Pick<Db, 'generation'>; pubsub: PubSub | null; marks?: Pick<WriteMarks, 'record'> | null },
  id: string,
  data: GenerationChange,
  from?: GenerationStatus[],
  run?: number,
): Promise<Generation | null> {
  const { count } = await deps.prisma.generation.updateMany({
    where: { id, ...(from ? { status: { in: from } } : {}), ...(run === undefined ? {} : { run }) },
    // A new version on every change: subscribers keep events about it in order by it (generation-order.ts).
    data: withFields(data, { version: { increment: 1 } }),
  });
  if (!count) return null;
  const generation = await deps.prisma.generation.findUniqueOrThrow({ where: { id } });
  // Best effort, like the publish: without it the owner's list may show the old status for the replica's lag.
  if (data.status !== undefined) await deps.marks?.record(generation.userId).catch(() => {});
  // Without pubsub (inside a transaction), the caller publishes once it has committed.
  if (deps.pubsub) await publishGeneration(deps.pubsub, generation);
  return generation;
}
