/**
 * GENERATION_MAX_PENDING, the cap on a user's queued and running generations: every path that queues
 * one writes through here. At the cap the request is refused with RATE_LIMITED and nothing is
 * written. The count and the write hold a per-user advisory lock (`dawg:pending:<userId>`), so
 * concurrent requests cannot slip past the cap together.
 * - A new generation: one statement, the SQL function dawg_queue_generation (migration
 *   20261202000000), which takes the lock, counts and inserts in one round trip. It runs on the pool
 *   Prisma uses, as node-postgres: through Prisma's raw query the same call cost the api 0.36-0.5 ms of
 *   CPU against 0.16-0.2 ms (1,000 calls each, warm), and generateBeat makes one per request.
 * - A retried one (a conditional update of an existing row): a transaction taking the same lock.
 * Both counts read the partial index of each user's pending rows (migration 20261206140000).
 */
import { randomUUID } from 'node:crypto';
import type { Db, Sql } from '../../db/client.js';
import { type Generation, type GenerationType, Prisma } from '../../generated/prisma/client.js';
import { AppError } from '../../errors.js';
import type { Viewer } from '../auth/viewer.js';
import { priorityTerms } from './queue-order.js';

function capReached(pending: number, maxPending: number): AppError {
  return new AppError(
    'RATE_LIMITED',
    `You already have ${pending} generations queued or running (at most ${maxPending}); retry when one finishes`,
    { retryAfter: 5, limit: maxPending },
  );
}

/** The generations row as Prisma's `Generation`. */
const GENERATION = `id, user_id AS "userId", project_id AS "projectId", type, status, input, output, progress, stage,
  provider, cost, duration_ms AS "durationMs", error, attempts, run, version, priority, created_at AS "createdAt",
  updated_at AS "updatedAt", queued_at AS "queuedAt", started_at AS "startedAt", completed_at AS "completedAt"`;

type Row = Omit<Generation, 'cost'> & { cost: string };

/**
 * A user's ($1) queued and running generations, as dawg_queue_generation counts them. The statuses are
 * written out as in the partial index's predicate: Prisma's count sends them as parameters cast to the
 * enum, which the planner cannot match to it.
 */
export const PENDING_COUNT = `SELECT count(*)::int AS pending FROM generations WHERE user_id = $1::uuid AND status IN ('PENDING', 'PROCESSING')`;

/** Queues a new PENDING generation of `viewer`'s, or refuses with RATE_LIMITED at the cap. */
export async function insertWithinCap(
  sql: Sql,
  viewer: Viewer,
  row: { type: GenerationType; input: Prisma.InputJsonValue; projectId: string | null },
  maxPending: number,
): Promise<Generation> {
  const { base, step, max } = priorityTerms(row.type, row.input);
  try {
    const { rows } = await sql.query<Row>({
      name: 'dawg-queue-generation',
      text: `SELECT ${GENERATION} FROM dawg_queue_generation($1::uuid, $2::uuid, $3::uuid, $4::"GenerationType", $5::jsonb, $6, $7, $8, $9)`,
      values: [randomUUID(), viewer.id, row.projectId, row.type, JSON.stringify(row.input), maxPending, base, step, max],
    });
    const created = rows[0];
    if (!created) throw new Error('dawg_queue_generation returned no row');
    // Prisma's shape: node-postgres reads numeric as a string.
    return { ...created, cost: new Prisma.Decimal(created.cost) };
  } catch (err) {
    const { code, detail } = err as { code?: string; detail?: string };
    if (code === 'DW001') {
      const pending = Number(detail);
      throw capReached(Number.isFinite(pending) ? pending : maxPending, maxPending);
    }
    throw err;
  }
}

/**
 * Runs `write` (given the count before it, for the priority) in a transaction holding the lock,
 * or refuses with RATE_LIMITED at the cap.
 */
export function withinCap<T>(
  prisma: Db,
  viewer: Viewer,
  maxPending: number,
  write: (tx: Prisma.TransactionClient, pending: number) => Promise<T>,
): Promise<T> {
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`dawg:pending:${viewer.id}`}, 0))`;
    const [{ pending }] = await tx.$queryRawUnsafe<[{ pending: number }]>(PENDING_COUNT, viewer.id);
    if (pending >= maxPending) throw capReached(pending, maxPending);
    return write(tx, pending);
  });
}
