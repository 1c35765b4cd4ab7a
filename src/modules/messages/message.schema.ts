import { byId } from '../../access/rules.js';
import type { Message } from '../../generated/prisma/client.js';
import { builder } from '../../graphql/builder.js';
import { viewerOf } from '../../graphql/context.js';
import { IntentEnum, MessageRoleEnum, MessageStatusEnum } from '../../graphql/enums.js';
import { idOf } from '../../graphql/ids.js';
import { liveSubscription } from '../../graphql/live-subscription.js';
import { withFields } from '../../with-fields.js';

/** What the intent step understood; stored as JSON on the message. */
export interface MessageEntities {
  genre?: string | null;
  bpm?: number | null;
  key?: string | null;
  mood?: string | null;
  durationSec?: number | null;
}

const MessageEntitiesRef = builder.objectRef<MessageEntities>('MessageEntities').implement({
  fields: (t) => ({
    genre: t.exposeString('genre', { nullable: true }),
    bpm: t.exposeInt('bpm', { nullable: true }),
    key: t.exposeString('key', { nullable: true }),
    mood: t.exposeString('mood', { nullable: true }),
    durationSec: t.exposeInt('durationSec', { nullable: true }),
  }),
});

export const MessageRef = builder.prismaNode('Message', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => byId('Message', ctx.viewer, id),
  fields: (t) => ({
    // A message from an event (chatStream, messageAdded) was not loaded with its relations; these
    // load them under the access rule, so one the viewer may not read is NOT_FOUND / null, not a crash.
    conversation: t.relation('conversation', {
      resolve: (query, m, _args, ctx) => ctx.services.access.conversation.require(viewerOf(ctx), m.conversationId, 'read', query),
    }),
    role: t.expose('role', { type: MessageRoleEnum }),
    content: t.exposeString('content'),
    status: t.expose('status', { type: MessageStatusEnum }),
    intent: t.expose('intent', { type: IntentEnum, nullable: true }),
    entities: t.field({
      type: MessageEntitiesRef,
      nullable: true,
      resolve: (m: Message) => (m.entities && typeof m.entities === 'object' ? (m.entities as MessageEntities) : null),
    }),
    generation: t.relation('generation', {
      nullable: true,
      resolve: (query, m, _args, ctx) =>
        m.generationId
          ? ctx.prisma.generation.findUnique(withFields(query, { where: byId('Generation', ctx.viewer, m.generationId) }))
          : null,
    }),
    provider: t.exposeString('provider', { nullable: true }),
    model: t.exposeString('model', { nullable: true }),
    promptTokens: t.exposeInt('promptTokens', { nullable: true }),
    completionTokens: t.exposeInt('completionTokens', { nullable: true }),
    cost: t.float({ description: 'USD.', resolve: (m) => Number(m.cost) }),
    error: t.exposeString('error', {
      nullable: true,
      description: 'Why the reply failed, when status is FAILED: `CODE: sentence`, the code from a closed set.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.subscriptionField('messageAdded', (t) =>
  t.field({
    type: MessageRef,
    description: 'Each message stored in the conversation (user and assistant).',
    args: { conversationId: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) =>
      liveSubscription(ctx, async () => {
        const id = idOf('Conversation', args.conversationId, 'conversationId');
        const { projectId } = await ctx.services.access.conversation.require(viewerOf(ctx), id, 'read');
        return { event: 'messageAdded', key: id, projectId };
      }),
    resolve: (event) => event.message,
  }),
);
