/**
 * sendMessage: store the user's message, understand it (local provider),
 * start the generation it asks for through the same service as the direct
 * mutations, then stream the assistant's reply: every chunk goes to a Redis
 * Stream (for replay from `fromIndex`) and to live chatStream subscribers;
 * the whole reply is stored when done.
 */
import { z } from 'zod';
import type { Db } from '../../db/client.js';
import type { Generation, Message } from '../../generated/prisma/client.js';
import { AppError, errorCode, rateLimited } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { DEFAULT_BPM } from '../../music/genres.js';
import type { ChatChunkEvent, PubSub } from '../../pubsub.js';
import type { Redis } from '../../redis.js';
import { parseInput } from '../../validation.js';
import type { Viewer } from '../auth/viewer.js';
import type { ConversationService } from '../conversations/conversation.service.js';
import type { GenerationService } from '../generations/generation.service.js';
import { type ParsedMessage, parseMessage } from './intent-parser.js';
import { chunk, localReply } from './reply.js';

export const CONTENT_MAX = 4000;
const contentRules = z.object({
  content: z.string().trim().min(1, 'must not be empty').max(CONTENT_MAX, `must be at most ${CONTENT_MAX} characters`),
});
const STREAM_TTL_SEC = 3600;

export interface ChatDeps {
  prisma: Db;
  redis: Redis;
  pubsub: PubSub;
  conversations: ConversationService;
  generations: GenerationService;
  log: Logger;
  prefix: string;
  chunkDelayMs: number;
  maxConcurrentReplies: number;
}

export class ChatService {
  constructor(private readonly deps: ChatDeps) {}

  streamKey(messageId: string): string {
    return `${this.deps.prefix}chat:${messageId}`;
  }

  async sendMessage(viewer: Viewer, conversationId: string, rawContent: string) {
    const { content } = parseInput(contentRules, { content: rawContent });
    const conversation = await this.deps.conversations.requireOwned(viewer, conversationId);
    const slot = await this.takeReplySlot(viewer.id);
    let streaming = false;
    try {
      const parsed = parseMessage(content);
      const userMessage = await this.deps.prisma.message.create({
        data: {
          conversationId,
          role: 'USER',
          content,
          status: 'COMPLETE',
          intent: parsed.intent,
          entities: { ...parsed.entities },
        },
      });
      await this.added(userMessage);

      let generation: Generation | null = null;
      let problem: string | null = null;
      try {
        generation = await this.startGeneration(viewer, conversation.id, conversation.projectId, parsed, content);
      } catch (err) {
        if (!errorCode(err) || errorCode(err) === 'INTERNAL_SERVER_ERROR') throw err;
        problem = (err as AppError).message.replace(/^\w+: /, '');
      }
      const entities = generation?.type === 'BEAT' ? pickEntities(generation.input) : parsed.entities;
      const assistantMessage = await this.deps.prisma.message.create({
        data: {
          conversationId,
          role: 'ASSISTANT',
          content: '',
          status: 'STREAMING',
          intent: parsed.intent,
          entities: { ...entities },
          generationId: generation?.id ?? null,
          provider: 'local',
          model: 'local-templates',
        },
      });
      await this.deps.prisma.conversation.update({ where: { id: conversationId }, data: { updatedAt: new Date() } });
      await this.added(assistantMessage);
      streaming = true;
      void this.stream(assistantMessage, localReply(parsed, generation, problem), content).finally(() => slot.release());
      return { userMessage, assistantMessage, generation };
    } finally {
      // Until the reply streams, any failure gives the slot back at once.
      if (!streaming) await slot.release();
    }
  }

  /**
   * One of the user's CHAT_MAX_CONCURRENT_REPLIES streaming slots, counted in Redis across api
   * instances (the TTL frees the slots of a process that died mid-reply). Over the limit: RATE_LIMITED.
   */
  private async takeReplySlot(userId: string): Promise<{ release(): Promise<void> }> {
    const key = `${this.deps.prefix}chat:streaming:${userId}`;
    const count = await this.deps.redis.incr(key);
    await this.deps.redis.expire(key, 600);
    const release = async () => {
      await this.deps.redis.decr(key).catch(() => 0);
    };
    if (count > this.deps.maxConcurrentReplies) {
      await release();
      throw rateLimited(5);
    }
    return { release };
  }

  /** Chunks stored for a reply, in order (for replay). */
  async storedChunks(messageId: string): Promise<{ index: number; delta: string; done: boolean }[]> {
    const entries = await this.deps.redis.xrange(this.streamKey(messageId), '-', '+');
    return entries.map(([, fields]) => {
      // XRANGE gives [name, value, name, value, …]
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
      return { index: Number(f.index), delta: f.delta ?? '', done: f.done === '1' };
    });
  }

  private async stream(message: Message, text: string, prompt: string): Promise<void> {
    const key = this.streamKey(message.id);
    const emit = async (event: Omit<ChatChunkEvent, 'conversationId' | 'messageId'>) => {
      await this.deps.redis.xadd(key, '*', 'index', String(event.index), 'delta', event.delta, 'done', event.done ? '1' : '0');
      // The TTL is set when the stream is created and renewed when it ends.
      if (event.index === 0 || event.done) await this.deps.redis.expire(key, STREAM_TTL_SEC);
      await this.deps.pubsub.publish('chatChunk', message.conversationId, {
        conversationId: message.conversationId,
        messageId: message.id,
        ...event,
      });
    };
    const parts = chunk(text);
    try {
      for (const [index, delta] of parts.entries()) {
        if (index && this.deps.chunkDelayMs) await new Promise((r) => setTimeout(r, this.deps.chunkDelayMs));
        await emit({ index, delta, done: false, message: null });
      }
      const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
      const done = await this.deps.prisma.message.update({
        where: { id: message.id },
        data: { content: text, status: 'COMPLETE', promptTokens: words(prompt), completionTokens: words(text), cost: 0 },
      });
      await emit({ index: parts.length, delta: '', done: true, message: done });
    } catch (err) {
      this.deps.log.error({ err, messageId: message.id }, 'reply stream failed');
      await this.deps.prisma.message
        .update({ where: { id: message.id }, data: { status: 'FAILED', error: 'The reply could not be delivered; ask again' } })
        .catch(() => {});
    }
  }

  private added(message: Message) {
    return this.deps.pubsub
      .publish('messageAdded', message.conversationId, { conversationId: message.conversationId, message })
      .catch(() => {});
  }

  /** The conversation's last generation, for follow-ups ("make it faster", "give me the stems"). */
  private async lastGeneration(conversationId: string, types?: Generation['type'][]): Promise<Generation | null> {
    const m = await this.deps.prisma.message.findFirst({
      where: { conversationId, generationId: { not: null }, ...(types ? { generation: { type: { in: types } } } : {}) },
      orderBy: { createdAt: 'desc' },
      include: { generation: true },
    });
    return m?.generation ?? null;
  }

  private async startGeneration(
    viewer: Viewer,
    conversationId: string,
    projectId: string | null,
    parsed: ParsedMessage,
    content: string,
  ) {
    switch (parsed.intent) {
      case 'CHAT':
        return null;
      case 'CREATE_STEMS': {
        const last = await this.lastGeneration(conversationId, ['BEAT']);
        if (!last) throw new AppError('BAD_USER_INPUT', 'there is no beat in this conversation yet');
        return this.deps.generations.createStems(viewer, last.id);
      }
      case 'MASTER_TRACK': {
        const last = await this.lastGeneration(conversationId, ['BEAT', 'MASTER', 'MIX']);
        if (!last) throw new AppError('BAD_USER_INPUT', 'there is no track in this conversation to master yet');
        const explicit = /(-\d+(?:\.\d+)?)\s*lufs/i.exec(content);
        const target = explicit
          ? Number(explicit[1])
          : parsed.modifiers.loudness === 'louder'
            ? -10
            : parsed.modifiers.loudness === 'quieter'
              ? -16
              : -14;
        return this.deps.generations.masterTrack(viewer, last.id, target);
      }
      case 'MIX_TRACK':
        if (!projectId) throw new AppError('BAD_USER_INPUT', 'this conversation has no project to mix');
        return this.deps.generations.mixProject(viewer, projectId);
      case 'GENERATE_BEAT': {
        const last = parsed.followUp ? await this.lastGeneration(conversationId, ['BEAT']) : null;
        const base = (last?.input ?? {}) as {
          genre?: string;
          bpm?: number;
          key?: string;
          mood?: string;
          durationSec?: number;
          seed?: number;
        };
        const project = projectId ? await this.deps.prisma.project.findUnique({ where: { id: projectId } }) : null;
        const e = parsed.entities;
        const genre = e.genre ?? base.genre ?? 'lofi';
        let bpm = e.bpm ?? base.bpm ?? project?.bpm ?? DEFAULT_BPM[genre as keyof typeof DEFAULT_BPM] ?? 90;
        if (!e.bpm && parsed.modifiers.tempo) bpm += parsed.modifiers.tempo === 'faster' ? 12 : -12;
        return this.deps.generations.generateBeat(viewer, {
          genre,
          bpm: Math.max(40, Math.min(220, bpm)),
          key: e.key ?? base.key ?? project?.key ?? 'A minor',
          mood: e.mood ?? base.mood ?? 'mellow',
          durationSec: e.durationSec ?? base.durationSec ?? 30,
          // "same but …" keeps the arrangement's seed; anything else is a new take.
          seed: last && /\bsame\b/i.test(content) ? base.seed : null,
          projectId,
        });
      }
    }
  }
}

/** What the generation will actually make, as the message's entities. */
function pickEntities(input: unknown): Record<string, string | number> {
  const i = input as Record<string, string | number>;
  const out: Record<string, string | number> = {};
  for (const k of ['genre', 'bpm', 'key', 'mood', 'durationSec'] as const)
    if (i[k] !== undefined) out[k] = i[k] as string | number;
  return out;
}
