import type { Message } from '../../generated/prisma/client.js';
import { builder } from '../../graphql/builder.js';
import { viewerOf } from '../../graphql/context.js';
import { IntentEnum, MessageRoleEnum, MessageStatusEnum } from '../../graphql/enums.js';
import { idOf } from '../../graphql/ids.js';

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
  findUnique: (id, ctx) => ({ id, conversation: { userId: ctx.viewer?.id ?? '' } }),
  fields: (t) => ({
    conversation: t.relation('conversation'),
    role: t.expose('role', { type: MessageRoleEnum }),
    content: t.exposeString('content'),
    status: t.expose('status', { type: MessageStatusEnum }),
    intent: t.expose('intent', { type: IntentEnum, nullable: true }),
    entities: t.field({
      type: MessageEntitiesRef,
      nullable: true,
      resolve: (m: Message) => (m.entities && typeof m.entities === 'object' ? (m.entities as MessageEntities) : null),
    }),
    generation: t.relation('generation', { nullable: true }),
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
    subscribe: async (_root, args, ctx) => {
      const id = idOf('Conversation', args.conversationId, 'conversationId');
      await ctx.services.conversations.requireOwned(viewerOf(ctx), id);
      return ctx.services.pubsub.subscribe('messageAdded', id);
    },
    resolve: (event) => event.message,
  }),
);
