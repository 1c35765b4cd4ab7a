/**
 * The queue's order, one rule for api and worker: a generation's BullMQ priority (lower goes first)
 * is 1 + twice the owner's queued or running generations when it was queued, plus 1 unless it is a
 * short preview. So a user with a backlog takes turns with everyone else instead of holding the
 * queue, and a preview of 15 s or less goes ahead of full-length work queued at the same depth.
 * Within a priority, first queued goes first (BullMQ keeps insertion order; `queuedAt` here).
 */
import type { GenerationType, Prisma } from '../../generated/prisma/client.js';

/** A BEAT this short (seconds) or shorter is a preview. */
export const PREVIEW_MAX_SEC = 15;
/** BullMQ's largest priority. */
const MAX_PRIORITY = 2 ** 21;

/** The terms of a generation's priority: `base + step × pending`, at most `max`. */
export function priorityTerms(type: GenerationType, input: Prisma.JsonValue | Prisma.InputJsonValue) {
  const durationSec = (input as { durationSec?: unknown } | null)?.durationSec;
  const preview = type === 'BEAT' && typeof durationSec === 'number' && durationSec <= PREVIEW_MAX_SEC;
  return { base: preview ? 1 : 2, step: 2, max: MAX_PRIORITY };
}

export function queuePriority(
  pendingBefore: number,
  type: GenerationType,
  input: Prisma.JsonValue | Prisma.InputJsonValue,
): number {
  const { base, step, max } = priorityTerms(type, input);
  return Math.min(max, base + step * pendingBefore);
}
