import type { Generation, Message } from '../../generated/prisma/client.js';
import { builder } from '../../graphql/builder.js';
import { viewerOf } from '../../graphql/context.js';
import { encodeGlobalId, idOf, optionalIdOf } from '../../graphql/ids.js';
import { liveSubscription } from '../../graphql/live-subscription.js';
import { badInput } from '../../errors.js';
import type { ChatChunkEvent } from '../../pubsub.js';
import { GenerationRef } from '../generations/generation.schema.js';
import { MessageRef } from '../messages/message.schema.js';
import type { ChatService } from './chat.service.js';

const SendMessagePayloadRef = builder
  .objectRef<{ userMessage: Message; assistantMessage: Message; generation: Generation | null }>('SendMessagePayload')
  .implement({
    fields: (t) => ({
      userMessage: t.field({ type: MessageRef, resolve: (p) => p.userMessage }),
      assistantMessage: t.field({
        type: MessageRef,
        description: 'STREAMING: its text arrives on chatStream.',
        resolve: (p) => p.assistantMessage,
      }),
      generation: t.field({ type: GenerationRef, nullable: true, resolve: (p) => p.generation }),
    }),
  });

const ChatStreamEventRef = builder.objectRef<ChatChunkEvent>('ChatStreamEvent').implement({
  fields: (t) => ({
    conversationId: t.id({ resolve: (e) => encodeGlobalId('Conversation', e.conversationId) }),
    messageId: t.id({ resolve: (e) => encodeGlobalId('Message', e.messageId) }),
    index: t.exposeInt('index', { description: 'From 0; the done event has the next index and an empty delta.' }),
    delta: t.exposeString('delta'),
    done: t.exposeBoolean('done'),
    message: t.field({
      type: MessageRef,
      nullable: true,
      description: 'The stored message, on the done event.',
      resolve: (e) => e.message,
    }),
  }),
});

builder.mutationField('sendMessage', (t) =>
  t.field({
    type: SendMessagePayloadRef,
    description: 'Stores the message, starts what it asks for, and streams the reply on chatStream.',
    args: { conversationId: t.arg.id({ required: true }), content: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) =>
      ctx.services.chat.sendMessage(viewerOf(ctx), idOf('Conversation', args.conversationId, 'conversationId'), args.content),
  }),
);

builder.subscriptionField('chatStream', (t) =>
  t.field({
    type: ChatStreamEventRef,
    description:
      'Reply chunks of the conversation, live. After a reconnect pass fromIndex (and messageId, default the latest reply): chunks from that index are replayed first, then live ones, with no gap or repeat.',
    args: { conversationId: t.arg.id({ required: true }), fromIndex: t.arg.int(), messageId: t.arg.id() },
    subscribe: (_root, args, ctx) =>
      liveSubscription(ctx, async () => {
        // Every argument is checked before anything is acquired.
        const conversationId = idOf('Conversation', args.conversationId, 'conversationId');
        const messageId = optionalIdOf('Message', args.messageId, 'messageId');
        const fromIndex = args.fromIndex ?? null;
        if (fromIndex !== null && fromIndex < 0) throw badInput('fromIndex', 'must be 0 or more');
        const viewer = viewerOf(ctx);
        const { projectId } = await ctx.services.access.conversation.require(viewer, conversationId, 'read');
        // The message must be in that conversation, or another conversation's chunks would be replayed.
        if (messageId) await ctx.services.access.message.requireIn(viewer, conversationId, messageId);
        if (fromIndex === null) return { event: 'chatChunk', key: conversationId, projectId };
        return {
          event: 'chatChunk',
          key: conversationId,
          projectId,
          follow: async function* (live) {
            const replayed =
              messageId ??
              (
                await ctx.prisma.message.findFirst({
                  where: { conversationId, role: 'ASSISTANT' },
                  orderBy: { createdAt: 'desc' },
                  select: { id: true },
                })
              )?.id;
            if (replayed) yield* replayThenLive(ctx.services.chat, conversationId, replayed, fromIndex, live, ctx.prisma);
            else yield* live;
          },
        };
      }),
    resolve: (event) => event,
  }),
);

/**
 * Stored chunks of `messageId` from `fromIndex`, then live events, skipping what was replayed. A live
 * chunk past the next expected index means chunks were published while this process's pub/sub was
 * cut (a Redis failover): they are read from the stored stream first, so the reply has no gap.
 */
async function* replayThenLive(
  chat: ChatService,
  conversationId: string,
  messageId: string,
  fromIndex: number,
  live: AsyncIterable<ChatChunkEvent>,
  prisma: { message: { findUnique(args: { where: { id: string } }): Promise<Message | null> } },
): AsyncGenerator<ChatChunkEvent> {
  let last = fromIndex - 1;
  /** Stored chunks after `last` and before `before`. */
  async function* stored(before: number): AsyncGenerator<ChatChunkEvent> {
    for (const c of await chat.storedChunks(messageId)) {
      if (c.index <= last || c.index >= before) continue;
      const message = c.done ? await prisma.message.findUnique({ where: { id: messageId } }) : null;
      yield { conversationId, messageId, index: c.index, delta: c.delta, done: c.done, message };
      last = c.index;
    }
  }
  yield* stored(Number.POSITIVE_INFINITY);
  // The subscription is released by liveSubscription, which also ends this loop's pending read.
  for await (const event of live) {
    if (event.messageId === messageId) {
      if (event.index <= last) continue;
      if (event.index > last + 1) yield* stored(event.index);
      last = event.index;
    }
    yield event;
  }
}
