/** usage: what the viewer (an admin: everyone) used in a period, and the viewer's AI budget. */
import { isAdmin } from '../../access/rules.js';
import { forbidden } from '../../errors.js';
import { builder } from '../../graphql/builder.js';
import { viewerOf } from '../../graphql/context.js';
import type { AiUsageRow, GenerationUsageRow, UsageReport, UserUsageRow } from './usage.service.js';
import { withFields } from '../../with-fields.js';

const AiUsageRef = builder.objectRef<AiUsageRow>('AiUsage').implement({
  description: 'AI tokens and spend of one day (UTC), provider and model; the intent calls included.',
  fields: (t) => ({
    day: t.exposeString('day', { description: 'YYYY-MM-DD (UTC).' }),
    provider: t.exposeString('provider'),
    model: t.exposeString('model', { nullable: true }),
    promptTokens: t.exposeInt('promptTokens'),
    completionTokens: t.exposeInt('completionTokens'),
    costUsd: t.exposeFloat('costUsd'),
  }),
});

const GenerationUsageRef = builder.objectRef<GenerationUsageRow>('GenerationUsage').implement({
  fields: (t) => ({
    type: t.exposeString('type', { description: 'BEAT, STEMS, MIX or MASTER.' }),
    count: t.exposeInt('count'),
    completed: t.exposeInt('completed'),
    failed: t.exposeInt('failed'),
    audioSeconds: t.exposeFloat('audioSeconds', { description: 'Seconds of audio the completed ones made.' }),
  }),
});

const UserUsageRef = builder.objectRef<UserUsageRow>('UserUsage').implement({
  fields: (t) => ({
    user: t.prismaField({
      type: 'User',
      resolve: (query, row, _args, ctx) => ctx.prisma.user.findUniqueOrThrow(withFields(query, { where: { id: row.userId } })),
    }),
    costUsd: t.exposeFloat('costUsd'),
    generations: t.exposeInt('generations'),
  }),
});

const AiBudgetRef = builder.objectRef<{ monthlyUsd: number; spentUsd: number; remainingUsd: number }>('AiBudget').implement({
  description:
    'AI_USER_MONTHLY_BUDGET_USD for this calendar month (UTC). With nothing remaining, replies come from the local provider until the month ends.',
  fields: (t) => ({
    monthlyUsd: t.exposeFloat('monthlyUsd'),
    spentUsd: t.exposeFloat('spentUsd'),
    remainingUsd: t.exposeFloat('remainingUsd'),
  }),
});

const UsageRef = builder.objectRef<UsageReport & { viewerId: string }>('Usage').implement({
  fields: (t) => ({
    from: t.expose('from', { type: 'DateTime' }),
    to: t.expose('to', { type: 'DateTime' }),
    allUsers: t.exposeBoolean('allUsers', { description: 'Summed over every user (admins).' }),
    ai: t.field({ type: [AiUsageRef], resolve: (u) => u.ai }),
    aiCostUsd: t.float({ resolve: (u) => u.ai.reduce((sum, r) => sum + r.costUsd, 0) }),
    aiTokens: t.int({ resolve: (u) => u.ai.reduce((sum, r) => sum + r.promptTokens + r.completionTokens, 0) }),
    generations: t.field({ type: [GenerationUsageRef], resolve: (u) => u.generations }),
    audioSeconds: t.float({ resolve: (u) => u.generations.reduce((sum, r) => sum + r.audioSeconds, 0) }),
    storageBytes: t.float({ description: 'Bytes held by completed uploads.', resolve: (u) => u.storageBytes }),
    topUsers: t.field({
      type: [UserUsageRef],
      nullable: true,
      description: 'allUsers: the ten who spent the most on AI in the period (then by generations).',
      resolve: (u) => u.topUsers,
    }),
    budget: t.field({
      type: AiBudgetRef,
      nullable: true,
      description: "The viewer's monthly AI budget, when the server sets one.",
      resolve: (u, _args, ctx) => ctx.reads.lagTolerant((db) => ctx.services.usage.budget(u.viewerId, db)),
    }),
  }),
});

builder.queryField('usage', (t) =>
  t.field({
    type: UsageRef,
    description: 'What you used from `from` to `to` (default: this month so far, UTC). allUsers (admins only): everyone.',
    args: {
      from: t.arg({ type: 'DateTime' }),
      to: t.arg({ type: 'DateTime' }),
      allUsers: t.arg.boolean({ defaultValue: false }),
    },
    resolve: async (_root, args, ctx) => {
      const viewer = viewerOf(ctx);
      if (args.allUsers && !isAdmin(viewer)) throw forbidden('Only an admin may see every user’s usage');
      const report = await ctx.reads.lagTolerant((db) =>
        ctx.services.usage.report(args.allUsers ? null : viewer.id, args.from, args.to, db),
      );
      return { ...report, viewerId: viewer.id };
    },
  }),
);
