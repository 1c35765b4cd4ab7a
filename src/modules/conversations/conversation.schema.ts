import { byId, conversationWhere } from '../../access/rules.js';
import { builder } from '../../graphql/builder.js';
import { viewerOf } from '../../graphql/context.js';
import { checkCursors, encodeGlobalId, idOf, optionalIdOf } from '../../graphql/ids.js';
import type { Db } from '../../db/client.js';
import { withFields } from '../../with-fields.js';

export const ConversationRef = builder.prismaNode('Conversation', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => byId('Conversation', ctx.viewer, id),
  fields: (t) => ({
    title: t.exposeString('title', { nullable: true }),
    project: t.relation('project', {
      nullable: true,
      resolve: (query, c, _args, ctx) =>
        c.projectId
          ? ctx.prisma.project.findUnique(withFields(query, { where: byId('Project', ctx.viewer, c.projectId) }))
          : null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    messages: t.relatedConnection(
      'messages',
      {
        cursor: 'id',
        defaultSize: 50,
        maxSize: 200,
        totalCount: true,
        description: 'Oldest first.',
        query: (args) => {
          checkCursors(args);
          return { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] };
        },
      },
      { name: 'MessageConnection' },
      { name: 'MessageEdge' },
    ),
  }),
});

/** The viewer's conversations (Query.conversations) and a project's (Project.conversations). */
export const ConversationConnection = builder.connectionObject(
  { type: ConversationRef, name: 'ConversationConnection' },
  { name: 'ConversationEdge' },
);

builder.queryFields((t) => ({
  conversation: t.prismaField({
    type: 'Conversation',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    // Who may read it is decided on the primary; the conversation and its history (messages) are a
    // read that tolerates lag. Just created by someone else, it may not be on the replica yet.
    resolve: async (query, _root, args, ctx) => {
      const id = idOf('Conversation', args.id, 'id');
      await ctx.services.access.conversation.require(viewerOf(ctx), id, 'read', { select: { id: true } });
      const find = (db: Db) => db.conversation.findUnique(withFields(query, { where: { id } }));
      return (await ctx.reads.lagTolerant(find)) ?? find(ctx.prisma);
    },
  }),
  conversations: t.prismaConnection(
    {
      type: 'Conversation',
      cursor: 'id',
      defaultSize: 20,
      maxSize: 100,
      description: 'Most recently created first.',
      resolve: (query, _root, args, ctx) => {
        checkCursors(args);
        return ctx.reads.lagTolerant((db) =>
          db.conversation.findMany(
            withFields(query, {
              where: conversationWhere(viewerOf(ctx), 'read'),
              orderBy: [{ createdAt: 'desc' as const }, { id: 'desc' as const }],
            }),
          ),
        );
      },
    },
    ConversationConnection,
  ),
}));

builder.mutationFields((t) => ({
  createConversation: t.prismaField({
    type: 'Conversation',
    args: { title: t.arg.string(), projectId: t.arg.id() },
    resolve: (_query, _root, args, ctx) =>
      ctx.services.conversations.create(viewerOf(ctx), {
        title: args.title,
        projectId: optionalIdOf('Project', args.projectId, 'projectId'),
      }),
  }),
  renameConversation: t.prismaField({
    type: 'Conversation',
    args: { id: t.arg.id({ required: true }), title: t.arg.string() },
    resolve: (_query, _root, args, ctx) =>
      ctx.services.conversations.rename(viewerOf(ctx), idOf('Conversation', args.id, 'id'), args.title ?? null),
  }),
  deleteConversation: t.id({
    description: 'Deletes the conversation and its messages. Returns the deleted id.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const c = await ctx.services.conversations.delete(viewerOf(ctx), idOf('Conversation', args.id, 'id'));
      return encodeGlobalId('Conversation', c.id);
    },
  }),
}));
