/**
 * projectEvents: what happens in a project, live, for its members, across api instances (track added,
 * updated, removed; project changed; member joined, left, role changed; generation progress; who is
 * present). Events carry ids; each subscriber loads the objects under its own access rule.
 */
import { byId } from '../../access/rules.js';
import { builder } from '../../graphql/builder.js';
import { viewerOf } from '../../graphql/context.js';
import { encodeGlobalId, idOf } from '../../graphql/ids.js';
import { liveSubscription } from '../../graphql/live-subscription.js';
import type { ProjectEvent } from '../../pubsub.js';
import { GenerationProgressEventRef } from '../generations/generation.schema.js';
import { inGenerationOrder } from '../generations/generation-order.js';
import { withFields } from '../../with-fields.js';

const ProjectEventKindEnum = builder.enumType('ProjectEventKind', {
  values: [
    'PROJECT_UPDATED',
    'TRACK_ADDED',
    'TRACK_UPDATED',
    'TRACK_REMOVED',
    'MEMBER_JOINED',
    'MEMBER_LEFT',
    'MEMBER_ROLE_CHANGED',
    'GENERATION_PROGRESS',
    'PRESENCE',
  ] as const,
});

const ProjectEventRef = builder.objectRef<ProjectEvent>('ProjectEvent').implement({
  description: 'One thing that happened in a project. Which fields are set depends on `kind`.',
  fields: (t) => ({
    kind: t.field({ type: ProjectEventKindEnum, resolve: (e) => e.kind }),
    project: t.prismaField({
      type: 'Project',
      nullable: true,
      description: 'The project as it is now.',
      resolve: (query, e, _args, ctx) =>
        ctx.prisma.project.findFirst(withFields(query, { where: byId('Project', ctx.viewer, e.projectId) })),
    }),
    track: t.prismaField({
      type: 'Track',
      nullable: true,
      description: 'TRACK_ADDED, TRACK_UPDATED: the track as it is now.',
      resolve: (query, e, _args, ctx) =>
        e.trackId && e.kind !== 'TRACK_REMOVED'
          ? ctx.prisma.track.findFirst(withFields(query, { where: byId('Track', ctx.viewer, e.trackId) }))
          : null,
    }),
    trackId: t.id({
      nullable: true,
      description: 'TRACK_*: the track (the only trace of a removed one).',
      resolve: (e) => (e.trackId ? encodeGlobalId('Track', e.trackId) : null),
    }),
    member: t.prismaField({
      type: 'ProjectMember',
      nullable: true,
      description: 'MEMBER_JOINED, MEMBER_ROLE_CHANGED: the membership now.',
      resolve: (query, e, _args, ctx) =>
        e.userId && e.kind !== 'MEMBER_LEFT'
          ? ctx.prisma.projectMember.findUnique(
              withFields(query, {
                where: { projectId_userId: { projectId: e.projectId, userId: e.userId } },
              }),
            )
          : null,
    }),
    userId: t.id({
      nullable: true,
      description: 'MEMBER_*: the member concerned (the only trace of one who left).',
      resolve: (e) => (e.userId ? encodeGlobalId('User', e.userId) : null),
    }),
    generation: t.field({
      type: GenerationProgressEventRef,
      nullable: true,
      description: 'GENERATION_PROGRESS: a generation of the project changed state or progressed.',
      resolve: (e) => e.generation ?? null,
    }),
    present: t.prismaField({
      type: ['User'],
      nullable: true,
      description: 'PRESENCE: the members who have the project open now (each projectEvents subscription counts).',
      resolve: (query, e, _args, ctx) =>
        e.present
          ? ctx.prisma.user.findMany(withFields(query, { where: { id: { in: e.present } }, orderBy: { email: 'asc' as const } }))
          : null,
    }),
    by: t.prismaField({
      type: 'User',
      nullable: true,
      description: 'Who made the change (null for the system: a worker, presence).',
      resolve: (query, e, _args, ctx) =>
        e.byUserId ? ctx.prisma.user.findUnique(withFields(query, { where: { id: e.byUserId } })) : null,
    }),
  }),
});

builder.subscriptionField('projectEvents', (t) =>
  t.field({
    type: ProjectEventRef,
    description:
      'Everything that happens in the project, live: first who is present (you included, for as long as this runs), then each change. Ends when you lose access to the project.',
    args: { projectId: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) =>
      liveSubscription(ctx, async () => {
        const viewer = viewerOf(ctx);
        const project = await ctx.services.access.project.require(viewer, idOf('Project', args.projectId, 'projectId'), 'read');
        const { presence } = ctx.services;
        return {
          event: 'projectEvent',
          key: project.id,
          projectId: project.id,
          // A generation's progress, in order (modules/generations/generation-order.ts).
          order: (live) => inGenerationOrder(live, (event) => event.generation?.generation),
          // The subscriber is present while this runs: a head of its own, so it is never shared.
          follow: async function* (live) {
            const leave = await presence.join(project.id, viewer.id);
            try {
              const present = await presence.present(project.id);
              yield { projectId: project.id, kind: 'PRESENCE', byUserId: null, present } satisfies ProjectEvent;
              yield* live;
            } finally {
              await leave();
            }
          },
        };
      }),
    resolve: (event) => event,
  }),
);
