/**
 * What a user (or, for an admin, everyone) used in a period: AI tokens and spend by provider, model
 * and day (the intent call included: it is billed on the user message), generations by type, seconds
 * of audio made, and storage held by uploads. And the monthly AI budget (AI_USER_MONTHLY_BUDGET_USD):
 * a user past it gets the local provider only (chat.service.ts).
 */
import type { Db } from '../../db/client.js';
import { badInput } from '../../errors.js';
import { Prisma } from '../../generated/prisma/client.js';

/** The longest period one usage query may cover. */
export const USAGE_MAX_DAYS = 366;

export interface AiUsageRow {
  day: string;
  provider: string;
  model: string | null;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface GenerationUsageRow {
  type: string;
  count: number;
  completed: number;
  failed: number;
  audioSeconds: number;
}

/** What the usage queries need of a client: the primary or a replica. */
type Reader = Pick<Db, '$queryRaw'>;

export interface UserUsageRow {
  userId: string;
  costUsd: number;
  generations: number;
}

export interface UsageReport {
  from: Date;
  to: Date;
  allUsers: boolean;
  ai: AiUsageRow[];
  generations: GenerationUsageRow[];
  storageBytes: number;
  /** allUsers: the ten users who spent the most on AI in the period. */
  topUsers: UserUsageRow[] | null;
}

export class UsageService {
  constructor(private readonly deps: { prisma: Db; monthlyBudgetUsd: number | undefined }) {}

  /**
   * `userId` null: every user (admins). The period defaults to the current month so far. `db`: where
   * to read (the usage query passes a replica when it may: src/db/read-router.ts).
   */
  async report(
    userId: string | null,
    from: Date | null | undefined,
    to: Date | null | undefined,
    db: Reader = this.deps.prisma,
  ): Promise<UsageReport> {
    const end = to ?? new Date();
    const start = from ?? monthStart(end);
    if (start >= end) throw badInput('from', 'must be before `to`');
    if (end.getTime() - start.getTime() > USAGE_MAX_DAYS * 86_400_000)
      throw badInput('from', `a period covers at most ${USAGE_MAX_DAYS} days`);
    const who = (column: string) => (userId ? Prisma.sql`AND ${Prisma.raw(column)} = ${userId}::uuid` : Prisma.empty);
    const [ai, generations, storage, top] = await Promise.all([
      db.$queryRaw<AiUsageRow[]>`
        SELECT to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, m.provider, m.model,
               sum(coalesce(m.prompt_tokens, 0))::int AS "promptTokens",
               sum(coalesce(m.completion_tokens, 0))::int AS "completionTokens",
               sum(m.cost)::float8 AS "costUsd"
        FROM messages m
        WHERE m.created_at >= ${start} AND m.created_at < ${end} AND m.provider IS NOT NULL
          AND coalesce(m.prompt_tokens, 0) + coalesce(m.completion_tokens, 0) > 0 ${who('m.user_id')}
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      db.$queryRaw<GenerationUsageRow[]>`
        SELECT g.type::text AS type, count(*)::int AS count,
               count(*) FILTER (WHERE g.status = 'COMPLETED')::int AS completed,
               count(*) FILTER (WHERE g.status = 'FAILED')::int AS failed,
               coalesce(sum((g.output->>'durationSec')::float8) FILTER (WHERE g.status = 'COMPLETED'), 0)::float8 AS "audioSeconds"
        FROM generations g
        WHERE g.created_at >= ${start} AND g.created_at < ${end} ${who('g.user_id')}
        GROUP BY 1 ORDER BY 1`,
      db.$queryRaw<{ bytes: number }[]>`
        SELECT coalesce(sum(u.size), 0)::float8 AS bytes FROM uploads u WHERE u.status IN ('PENDING', 'READY') ${who('u.user_id')}`,
      userId
        ? Promise.resolve(null)
        : db.$queryRaw<UserUsageRow[]>`
            SELECT u.id AS "userId", coalesce(a.cost, 0)::float8 AS "costUsd", coalesce(g.n, 0)::int AS generations
            FROM users u
            LEFT JOIN (SELECT user_id, sum(cost) AS cost FROM messages
                       WHERE created_at >= ${start} AND created_at < ${end} GROUP BY user_id) a ON a.user_id = u.id
            LEFT JOIN (SELECT user_id, count(*) AS n FROM generations
                       WHERE created_at >= ${start} AND created_at < ${end} GROUP BY user_id) g ON g.user_id = u.id
            WHERE a.cost > 0 OR g.n > 0
            ORDER BY "costUsd" DESC, generations DESC, u.id LIMIT 10`,
    ]);
    return { from: start, to: end, allUsers: !userId, ai, generations, storageBytes: storage[0]?.bytes ?? 0, topUsers: top };
  }

  /** The user's AI spend this calendar month (UTC), in USD. */
  async spentThisMonth(userId: string, db: Reader = this.deps.prisma): Promise<number> {
    const [row] = await db.$queryRaw<{ spent: number }[]>`
      SELECT coalesce(sum(cost), 0)::float8 AS spent FROM messages
      WHERE user_id = ${userId}::uuid AND created_at >= ${monthStart(new Date())}`;
    return row?.spent ?? 0;
  }

  /** The monthly budget and what is left of it, or null when no budget is set. */
  async budget(
    userId: string,
    db: Reader = this.deps.prisma,
  ): Promise<{ monthlyUsd: number; spentUsd: number; remainingUsd: number } | null> {
    const monthly = this.deps.monthlyBudgetUsd;
    if (monthly === undefined) return null;
    const spent = await this.spentThisMonth(userId, db);
    return { monthlyUsd: monthly, spentUsd: spent, remainingUsd: Math.max(0, monthly - spent) };
  }

  /** Whether the user may still use remote AI providers this month. */
  async withinBudget(userId: string): Promise<boolean> {
    const budget = await this.budget(userId);
    return !budget || budget.remainingUsd > 0;
  }
}

function monthStart(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
}
