/** Sharing a project: its members and the viewer's role, its conversations, and member management. */
import { builder } from '../../graphql/builder.js';
import { viewerOf } from '../../graphql/context.js';
import { ProjectRoleEnum } from '../../graphql/enums.js';
import { checkCursors, idOf } from '../../graphql/ids.js';
import { forbidden } from '../../errors.js';
import { ConversationConnection } from '../conversations/conversation.schema.js';

builder.prismaObject('ProjectMember', {
  fields: (t) => ({
    // Members see each other (src/access/rules.ts userWhere).
    user: t.relation('user'),
    role: t.expose('role', { type: ProjectRoleEnum }),
    addedAt: t.expose('addedAt', { type: 'DateTime' }),
  }),
});

builder.prismaObjectFields('Project', (t) => ({
  version: t.exposeInt('version', {
    description:
      'Moves on with every change to the project, its tracks or members. Pass it to updateProject to be told (CONFLICT) when someone changed the project since you read it.',
  }),
  members: t.relation('members', { query: { orderBy: [{ addedAt: 'asc' }, { userId: 'asc' }] } }),
  viewerRole: t.field({
    type: ProjectRoleEnum,
    // One lookup by primary key. (A Pothos `select` of the viewer's membership broke on projects
    // that mutations return without the query's selection.)
    resolve: async (project, _args, ctx) => {
      const own = ctx.viewer
        ? await ctx.prisma.projectMember.findUnique({
            where: { projectId_userId: { projectId: project.id, userId: ctx.viewer.id } },
            select: { role: true },
          })
        : null;
      if (!own) throw forbidden('You are not a member of this project');
      return own.role;
    },
  }),
  conversations: t.relatedConnection(
    'conversations',
    {
      cursor: 'id',
      defaultSize: 20,
      maxSize: 100,
      description: "The project's conversations, most recently created first (every member sees them).",
      query: (args) => {
        checkCursors(args);
        return { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] };
      },
    },
    ConversationConnection,
  ),
}));

builder.prismaObjectFields('Track', (t) => ({
  version: t.exposeInt('version', {
    description:
      'Moves on with every change to the track. Pass it to updateTrack to be told (CONFLICT) when someone changed it since you read it.',
  }),
}));

builder.mutationFields((t) => ({
  addProjectMember: t.prismaField({
    type: 'ProjectMember',
    description: 'OWNER only. Adds the account with this email to the project, with `role`.',
    args: {
      projectId: t.arg.id({ required: true }),
      email: t.arg.string({ required: true }),
      role: t.arg({ type: ProjectRoleEnum, required: true }),
    },
    resolve: (_query, _root, args, ctx) =>
      ctx.services.members.add(viewerOf(ctx), idOf('Project', args.projectId, 'projectId'), args.email, args.role),
  }),
  updateProjectMember: t.prismaField({
    type: 'ProjectMember',
    description: 'OWNER only. A project keeps at least one OWNER.',
    args: {
      projectId: t.arg.id({ required: true }),
      userId: t.arg.id({ required: true }),
      role: t.arg({ type: ProjectRoleEnum, required: true }),
    },
    resolve: (_query, _root, args, ctx) =>
      ctx.services.members.update(
        viewerOf(ctx),
        idOf('Project', args.projectId, 'projectId'),
        idOf('User', args.userId, 'userId'),
        args.role,
      ),
  }),
  removeProjectMember: t.prismaField({
    type: 'Project',
    description: 'OWNER only. Their open subscriptions on the project end at once. A project keeps at least one OWNER.',
    args: { projectId: t.arg.id({ required: true }), userId: t.arg.id({ required: true }) },
    resolve: (_query, _root, args, ctx) =>
      ctx.services.members.remove(
        viewerOf(ctx),
        idOf('Project', args.projectId, 'projectId'),
        idOf('User', args.userId, 'userId'),
      ),
  }),
  leaveProject: t.boolean({
    description: 'The viewer leaves the project (the last OWNER cannot: hand it over or delete it).',
    args: { projectId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.members.leave(viewerOf(ctx), idOf('Project', args.projectId, 'projectId')),
  }),
}));
