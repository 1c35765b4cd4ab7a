import { builder } from '../../graphql/builder.js';
import { viewerOf } from '../../graphql/context.js';
import { GenerationStatusEnum, GenerationTypeEnum } from '../../graphql/enums.js';
import { idOf } from '../../graphql/ids.js';

export const GenerationRef = builder.prismaNode('Generation', {
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, userId: ctx.viewer?.id ?? '' }),
  fields: (t) => ({
    type: t.expose('type', { type: GenerationTypeEnum }),
    status: t.expose('status', { type: GenerationStatusEnum }),
    progress: t.exposeInt('progress', { description: '0..100' }),
    stage: t.exposeString('stage', { nullable: true, description: 'drums | bass | melody | mixing | ... | done' }),
    input: t.expose('input', { type: 'JSON' }),
    error: t.exposeString('error', { nullable: true }),
    provider: t.exposeString('provider', { nullable: true }),
    cost: t.float({ nullable: true, description: 'USD.', resolve: (g) => Number(g.cost) }),
    durationMs: t.exposeInt('durationMs', { nullable: true }),
    attempts: t.exposeInt('attempts'),
    project: t.relation('project', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryFields((t) => ({
  generation: t.prismaField({
    type: 'Generation',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.services.generations.requireOwned(viewerOf(ctx), idOf('Generation', args.id, 'id'), query),
  }),
  generations: t.prismaConnection(
    {
      type: 'Generation',
      cursor: 'id',
      defaultSize: 20,
      maxSize: 100,
      description: 'Newest first, optionally filtered by status and type.',
      args: { status: t.arg({ type: GenerationStatusEnum }), type: t.arg({ type: GenerationTypeEnum }) },
      resolve: (query, _root, args, ctx) =>
        ctx.prisma.generation.findMany({
          ...query,
          where: { userId: viewerOf(ctx).id, status: args.status ?? undefined, type: args.type ?? undefined },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        }),
    },
    { name: 'GenerationConnection' },
    { name: 'GenerationEdge' },
  ),
}));
