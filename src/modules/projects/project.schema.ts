import { byId, projectWhere, trackWhere } from '../../access/rules.js';
import { builder } from '../../graphql/builder.js';
import { viewerOf } from '../../graphql/context.js';
import { checkCursors, encodeGlobalId, idOf, optionalIdOf } from '../../graphql/ids.js';
import { liveSubscription } from '../../graphql/live-subscription.js';
import { ProjectRoleEnum } from '../../graphql/enums.js';
import { withFields } from '../../with-fields.js';

export const ProjectRef = builder.prismaNode('Project', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => byId('Project', ctx.viewer, id),
  fields: (t) => ({
    name: t.exposeString('name'),
    bpm: t.exposeInt('bpm', { nullable: true }),
    key: t.exposeString('key', { nullable: true, description: 'Canonical key name, e.g. "A minor".' }),
    tracks: t.relation('tracks', {
      query: { orderBy: [{ position: 'asc' }, { createdAt: 'asc' }] },
      // A project from a projectUpdated event was not loaded with its tracks: they load under the rule.
      resolve: (query, p, _args, ctx) =>
        ctx.prisma.track.findMany(withFields(query, { where: { AND: [{ projectId: p.id }, trackWhere(ctx.viewer, 'read')] } })),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.prismaNode('Track', {
  id: { field: 'id' },
  nullable: true,
  // Only the columns a query asks for (a page of projects may carry hundreds of tracks), and the
  // generation id, which the generation field's rule needs.
  select: { generationId: true, uploadId: true },
  findUnique: (id, ctx) => byId('Track', ctx.viewer, id),
  fields: (t) => ({
    name: t.exposeString('name'),
    project: t.relation('project'),
    // A track is visible with its project; the generation or upload it plays may not be (under the rule).
    generation: t.relation('generation', {
      nullable: true,
      resolve: (query, track, _args, ctx) =>
        track.generationId
          ? ctx.prisma.generation.findUnique(withFields(query, { where: byId('Generation', ctx.viewer, track.generationId) }))
          : null,
    }),
    upload: t.relation('upload', {
      nullable: true,
      resolve: (query, track, _args, ctx) =>
        track.uploadId
          ? ctx.prisma.upload.findUnique(withFields(query, { where: byId('Upload', ctx.viewer, track.uploadId) }))
          : null,
    }),
    gainDb: t.exposeFloat('gainDb'),
    pan: t.exposeFloat('pan', { description: '-1 (left) to 1 (right).' }),
    muted: t.exposeBoolean('muted'),
    position: t.exposeInt('position'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  project: t.prismaField({
    type: 'Project',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.services.access.project.require(viewerOf(ctx), idOf('Project', args.id, 'id'), 'read', query),
  }),
  projects: t.prismaConnection(
    {
      type: 'Project',
      cursor: 'id',
      defaultSize: 20,
      maxSize: 100,
      description:
        'The projects the viewer owns or is a member of, newest first; `role` keeps those where the viewer has that role.',
      args: { role: t.arg({ type: ProjectRoleEnum }) },
      resolve: (query, _root, args, ctx) => {
        checkCursors(args);
        const viewer = viewerOf(ctx);
        return ctx.reads.lagTolerant((db) =>
          db.project.findMany(
            withFields(query, {
              where: {
                AND: [
                  projectWhere(viewer, 'read'),
                  args.role ? { members: { some: { userId: viewer.id, role: args.role } } } : {},
                ],
              },
              orderBy: [{ createdAt: 'desc' as const }, { id: 'desc' as const }],
            }),
          ),
        );
      },
    },
    { name: 'ProjectConnection' },
    { name: 'ProjectEdge' },
  ),
}));

builder.mutationFields((t) => ({
  createProject: t.prismaField({
    type: 'Project',
    args: { name: t.arg.string({ required: true }), bpm: t.arg.int(), key: t.arg.string() },
    resolve: (_query, _root, args, ctx) => ctx.services.projects.create(viewerOf(ctx), args),
  }),
  updateProject: t.prismaField({
    type: 'Project',
    args: {
      id: t.arg.id({ required: true }),
      version: t.arg.int({ description: 'The version you read: a newer stored one gives CONFLICT (with the current project).' }),
      name: t.arg.string(),
      bpm: t.arg.int(),
      key: t.arg.string(),
    },
    resolve: (_query, _root, { id, ...input }, ctx) =>
      ctx.services.projects.update(viewerOf(ctx), idOf('Project', id, 'id'), input),
  }),
  deleteProject: t.id({
    description: 'Deletes the project and its tracks (generations are kept). Returns the deleted id.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const project = await ctx.services.projects.delete(viewerOf(ctx), idOf('Project', args.id, 'id'));
      return encodeGlobalId('Project', project.id);
    },
  }),
  addTrack: t.prismaField({
    type: 'Track',
    args: {
      projectId: t.arg.id({ required: true }),
      generationId: t.arg.id({ description: 'A generation to play (give this or uploadId).' }),
      uploadId: t.arg.id({ description: 'A READY upload to play (give this or generationId).' }),
      name: t.arg.string(),
      gainDb: t.arg.float(),
      pan: t.arg.float(),
    },
    resolve: (_query, _root, { projectId, generationId, uploadId, ...input }, ctx) =>
      ctx.services.projects.addTrack(
        viewerOf(ctx),
        idOf('Project', projectId, 'projectId'),
        {
          generationId: optionalIdOf('Generation', generationId, 'generationId'),
          uploadId: optionalIdOf('Upload', uploadId, 'uploadId'),
        },
        input,
      ),
  }),
  updateTrack: t.prismaField({
    type: 'Track',
    args: {
      id: t.arg.id({ required: true }),
      version: t.arg.int({ description: 'The version you read: a newer stored one gives CONFLICT (with the current track).' }),
      name: t.arg.string(),
      gainDb: t.arg.float(),
      pan: t.arg.float(),
      muted: t.arg.boolean(),
      position: t.arg.int(),
    },
    resolve: (_query, _root, { id, ...input }, ctx) =>
      ctx.services.projects.updateTrack(viewerOf(ctx), idOf('Track', id, 'id'), input),
  }),
  removeTrack: t.id({
    description: 'Removes a track from its project. Returns the removed id.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const track = await ctx.services.projects.removeTrack(viewerOf(ctx), idOf('Track', args.id, 'id'));
      return encodeGlobalId('Track', track.id);
    },
  }),
}));

builder.subscriptionField('projectUpdated', (t) =>
  t.field({
    type: ProjectRef,
    description: 'The project, each time it or one of its tracks changes.',
    args: { projectId: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) =>
      liveSubscription(ctx, async () => {
        const project = await ctx.services.access.project.require(
          viewerOf(ctx),
          idOf('Project', args.projectId, 'projectId'),
          'read',
        );
        return { event: 'projectUpdated', key: project.id, projectId: project.id };
      }),
    resolve: (event) => event.project,
  }),
);
