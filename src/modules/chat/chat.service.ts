/**
 * sendMessage: store the user's message, understand it (the configured AI
 * providers, else the local parser), start the generation it asks for through
 * the same service as the direct mutations, then stream the assistant's reply
 * through the provider router: every chunk goes to a Redis Stream (for replay
 * from `fromIndex`) and to live chatStream subscribers; the whole reply is
 * stored when done, with provider, model, token counts and cost.
 */
import type { Metrics } from '../../metrics.js';
import type { UsageService } from '../usage/usage.service.js';
import type { WriteMarks } from '../../db/write-marks.js';
import type { RouteOptions } from './providers/router.js';
import { z } from 'zod';
import type { Access } from '../../access/access.js';
import type { Db } from '../../db/client.js';
import type { Generation, Message, Project, Upload } from '../../generated/prisma/client.js';
import { uploadWhere } from '../../access/rules.js';
import { AppError, errorCode, notFound, rateLimited } from '../../errors.js';
import { classifyFailure } from '../../failures.js';
import type { Logger } from '../../logger.js';
import { DEFAULT_BPM } from '../../music/genres.js';
import type { ChatChunkEvent, PubSub } from '../../pubsub.js';
import { defineScript, type Redis } from '../../redis.js';
import { parseInput } from '../../validation.js';
import type { Viewer } from '../auth/viewer.js';
import type { GenerationService } from '../generations/generation.service.js';
import { type ParsedMessage, parseMessage } from './intent-parser.js';
import { type ChatContext, intentSystemPrompt, replySystemPrompt } from './providers/prompts.js';
import { AllProvidersFailed, type ProviderRouter } from './providers/router.js';
import type { ReplyRequest, Turn } from './providers/types.js';
import type { FramePace } from './frame-pace.js';
import { Frames } from './frames.js';
import { localReply } from './reply.js';
import type { MessageStore, NewMessage } from './message.store.js';
import { ReplyLeases } from './reply-leases.js';
import { ReplyStream, type StoredChunk } from './reply-stream.js';
import { withFields } from '../../with-fields.js';

export const CONTENT_MAX = 4000;
const contentRules = z.object({
  content: z.string().trim().min(1, 'must not be empty').max(CONTENT_MAX, `must be at most ${CONTENT_MAX} characters`),
});
/** A user's streaming-reply count expires this long after its last change (a crashed process's slots free up). */
const SLOT_TTL_SEC = 600;
// KEYS[1] the user's count; ARGV: limit, ttl. 1 = taken, 0 = over the limit (nothing changed). One round trip.
const TAKE_SLOT = `
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if n > tonumber(ARGV[1]) then redis.call('DECR', KEYS[1]) return 0 end
return 1
`;
/** How many earlier messages the providers see. */
const CONTEXT_MESSAGES = 10;

/** What the local provider is told (it reads nothing else). */
const NO_CONTEXT: ChatContext = { project: null, lastGeneration: null, recent: [] };

/** A stored message and its reply's placeholder, with what the reply is asked. */
interface Exchange {
  userMessage: Message;
  assistantMessage: Message;
  generation: Generation | null;
  request: ReplyRequest;
}

/** A message's conversation, with its project loaded at most once and only when needed. */
interface Conversing {
  id: string;
  projectId: string | null;
  project(): Promise<Project | null>;
}

export interface ChatDeps {
  prisma: Db;
  access: Access;
  redis: Redis;
  pubsub: PubSub;
  messages: MessageStore;
  generations: GenerationService;
  router: ProviderRouter;
  log: Logger;
  prefix: string;
  maxConcurrentReplies: number;
  /** How often reply text is sent at most (see Frames): longer while the api is loaded (FramePace). */
  framePace: Pick<FramePace, 'frameMs'>;
  /** REDIS_FAILOVER_WAIT_MS: how long a reply's chunks wait for Redis to come back before it fails. */
  redisWaitMs: number;
  /** Replicas a reply's chunks wait for before they count as stored (REDIS_MODE sentinel or cluster: 1). */
  redisReplicas: number;
  /** AI_USER_MONTHLY_BUDGET_USD: whether a user may still use remote providers this month. */
  usage: Pick<UsageService, 'withinBudget'>;
  metrics: Pick<Metrics, 'aiBudgetSkips'>;
  /** Read-your-writes (null without read replicas): a finished reply is in its user's next reads. */
  marks: Pick<WriteMarks, 'record'> | null;
}

/** What a reply to a user past their monthly AI budget starts with. */
export const BUDGET_NOTE = "You've used this month's AI budget, so dawg's built-in assistant is answering until the month ends. ";

export class ChatService {
  private readonly chunks: ReplyStream;
  private readonly leases: ReplyLeases;

  private readonly takeSlot: (key: string, limit: number, ttlSec: number) => Promise<number>;

  constructor(private readonly deps: ChatDeps) {
    this.chunks = new ReplyStream(deps.redis, deps.pubsub, deps.prefix, deps.redisWaitMs, deps.redisReplicas);
    this.takeSlot = defineScript(deps.redis, 'dawgTakeSlot', TAKE_SLOT, 1);
    this.leases = new ReplyLeases({ redis: deps.redis, prefix: deps.prefix, log: deps.log });
  }

  /** Ends replies whose api process died while streaming them (see ReplyLeases). */
  startSweeping(): void {
    this.leases.start((messageId) => this.endOrphan(messageId));
  }

  stopSweeping(): void {
    this.leases.stop();
  }

  /**
   * A reply whose writer died: FAILED with what was said so far, and a done chunk after the last one
   * stored, so followers end. Nothing if it ended meanwhile (finish only changes a STREAMING reply).
   */
  private async endOrphan(messageId: string): Promise<void> {
    const stored = await this.chunks.stored(messageId);
    if (stored.some((c) => c.done)) return;
    const final = await this.deps.messages.finish(messageId, {
      content: stored.map((c) => c.delta).join(''),
      status: 'FAILED',
      error: classifyFailure(new Error('the api process streaming this reply stopped'), 'DELIVERY_FAILED').reason,
    });
    if (!final) return;
    this.deps.log.warn({ messageId, chunks: stored.length }, 'reply ended as FAILED: the api process streaming it stopped');
    await this.emit(final, { index: (stored.at(-1)?.index ?? -1) + 1, delta: '', done: true, message: final });
  }

  async sendMessage(viewer: Viewer, conversationId: string, rawContent: string) {
    const { content } = parseInput(contentRules, { content: rawContent });
    const slot = await this.takeReplySlot(viewer.id);
    let streaming = false;
    try {
      const local = parseMessage(content);
      const route = await this.route(viewer);
      // A message that starts nothing and that no remote model reads first (the local provider's chat)
      // is stored with its reply in one statement; everything else goes step by step.
      const exchange =
        local.intent === 'CHAT' && (!this.deps.router.usesContext || route.localOnly)
          ? await this.storeChat(viewer, conversationId, content, local, route)
          : await this.storeStepByStep(viewer, conversationId, content, local, route);
      const { userMessage, assistantMessage, generation } = exchange;
      this.added(assistantMessage);
      streaming = true;
      this.leases.hold(assistantMessage.id);
      void this.reply(assistantMessage, exchange.request, route).finally(() =>
        Promise.all([slot.release(), this.leases.release(assistantMessage.id)]),
      );
      return { userMessage, assistantMessage, generation };
    } finally {
      // Until the reply streams, any failure gives the slot back at once.
      if (!streaming) await slot.release();
    }
  }

  /**
   * Which providers may answer this user: all of them, or only the local one when a remote one is
   * configured and the user is past their monthly AI budget (counted in dawg_ai_budget_skips_total).
   */
  private async route(viewer: Viewer): Promise<RouteOptions> {
    if (!this.deps.router.usesContext || (await this.deps.usage.withinBudget(viewer.id))) return {};
    this.deps.metrics.aiBudgetSkips.inc();
    return { localOnly: true };
  }

  /** The local reply's text; past the budget it says why the built-in assistant answers. */
  private fallback(text: string, route: RouteOptions): string {
    return route.localOnly ? `${BUDGET_NOTE}${text}` : text;
  }

  /** The assistant message's fields before its reply streams. */
  private streamingReply(
    parsed: ParsedMessage,
    entities: object,
    generation: Generation | null,
    route: RouteOptions,
  ): NewMessage {
    const first = route.localOnly ? { name: 'local', model: 'local-templates' } : this.deps.router.providers[0];
    return {
      content: '',
      status: 'STREAMING',
      intent: parsed.intent,
      entities: { ...entities },
      generationId: generation?.id ?? null,
      provider: first?.name ?? null,
      model: first?.model ?? null,
    };
  }

  private async storeChat(
    viewer: Viewer,
    conversationId: string,
    content: string,
    parsed: ParsedMessage,
    route: RouteOptions,
  ): Promise<Exchange> {
    const stored = await this.deps.messages.addExchange(
      viewer.id,
      conversationId,
      { content, status: 'COMPLETE', intent: parsed.intent, entities: { ...parsed.entities } },
      this.streamingReply(parsed, parsed.entities, null, route),
    );
    if (!stored) return this.refused(viewer, conversationId);
    this.added(stored.userMessage);
    const fallbackText = this.fallback(localReply(parsed, null, null), route);
    return withFields(stored, {
      generation: null,
      request: { system: replySystemPrompt(NO_CONTEXT, fallbackText), turns: [{ role: 'user', content }], fallbackText },
    });
  }

  private async storeStepByStep(
    viewer: Viewer,
    conversationId: string,
    content: string,
    local: ParsedMessage,
    route: RouteOptions,
  ): Promise<Exchange> {
    // Stored at once, with the local reading, if the conversation is the viewer's; a provider's reading is saved after.
    const added = await this.deps.messages.addUserMessage(viewer.id, conversationId, {
      content,
      status: 'COMPLETE',
      intent: local.intent,
      entities: { ...local.entities },
    });
    if (!added) return this.refused(viewer, conversationId);
    const { projectId } = added;
    let project: Promise<Project | null> | undefined;
    const here: Conversing = {
      id: conversationId,
      projectId,
      project: () =>
        (project ??= projectId ? this.deps.prisma.project.findUnique({ where: { id: projectId } }) : Promise.resolve(null)),
    };
    const context = await this.contextOf(here, added.message.id);
    const turns: Turn[] = [...context.recent, { role: 'user', content }];
    const understood = await this.deps.router.extractIntent({ system: intentSystemPrompt(context), turns }, local, route);
    const parsed = understood.parsed;
    // A remote reading replaces the local one; the intent call's spend is the user message's own
    // (the assistant message carries the reply's), billed even when its answer was not usable.
    const { usage } = understood;
    const billed = usage.promptTokens + usage.completionTokens > 0;
    const userMessage =
      understood.provider === 'local' && !billed
        ? added.message
        : await this.deps.prisma.message.update({
            where: { id: added.message.id },
            data: {
              ...(understood.model ? { intent: parsed.intent, entities: { ...parsed.entities } } : {}),
              provider: understood.provider,
              model: understood.model,
              promptTokens: usage.promptTokens,
              completionTokens: usage.completionTokens,
              cost: understood.cost,
            },
          });
    this.added(userMessage);

    let generation: Generation | null = null;
    let problem: string | null = null;
    try {
      generation = await this.startGeneration(viewer, here, parsed, content);
    } catch (err) {
      if (!errorCode(err) || errorCode(err) === 'INTERNAL_SERVER_ERROR') throw err;
      problem = (err as AppError).message.replace(/^\w+: /, '');
    }
    const entities = generation?.type === 'BEAT' ? pickEntities(generation.input) : parsed.entities;
    const assistantMessage = await this.deps.messages.addAssistantMessage(
      conversationId,
      viewer.id,
      userMessage.createdAt,
      this.streamingReply(parsed, entities, generation, route),
    );
    const fallbackText = this.fallback(localReply(parsed, generation, problem), route);
    return {
      userMessage,
      assistantMessage,
      generation,
      request: { system: replySystemPrompt(context, fallbackText), turns, fallbackText },
    };
  }

  /**
   * Why the store wrote nothing: the access rule's own answer (NOT_FOUND, or FORBIDDEN for a viewer
   * who may read the conversation but not write to it), looked up only on this failure path.
   */
  private async refused(viewer: Viewer, conversationId: string): Promise<never> {
    await this.deps.access.conversation.require(viewer, conversationId, 'write');
    throw notFound('Conversation', conversationId); // deleted in between
  }

  /**
   * One of the user's CHAT_MAX_CONCURRENT_REPLIES streaming slots, counted in Redis across api
   * instances (the TTL frees the slots of a process that died mid-reply). Over the limit: RATE_LIMITED.
   */
  private async takeReplySlot(userId: string): Promise<{ release(): Promise<void> }> {
    const key = `${this.deps.prefix}chat:streaming:${userId}`;
    const taken = await this.takeSlot(key, this.deps.maxConcurrentReplies, SLOT_TTL_SEC);
    if (!taken) throw rateLimited(5);
    return {
      release: async () => {
        await this.deps.redis.decr(key).catch(() => 0);
      },
    };
  }

  /** Chunks stored for a reply, in order (for replay). */
  storedChunks(messageId: string): Promise<StoredChunk[]> {
    return this.chunks.stored(messageId);
  }

  private emit(message: Message, event: Omit<ChatChunkEvent, 'conversationId' | 'messageId'>): Promise<void> {
    return this.chunks.emit({ conversationId: message.conversationId, messageId: message.id, ...event });
  }

  private async reply(message: Message, request: ReplyRequest, route: RouteOptions): Promise<void> {
    let index = 0;
    const frames = new Frames(
      () => this.deps.framePace.frameMs(),
      (delta) => this.emit(message, { index: index++, delta, done: false, message: null }),
    );
    let final: Message;
    try {
      const result = await this.deps.router.streamReply(request, (delta) => frames.push(delta), route);
      await frames.end();
      const stored = await this.deps.messages.finish(message.id, {
        content: result.text,
        status: 'COMPLETE',
        provider: result.provider,
        model: result.model,
        promptTokens: result.usage.promptTokens,
        completionTokens: result.usage.completionTokens,
        cost: result.cost,
      });
      if (!stored) return; // the conversation was deleted while the reply streamed
      final = stored;
    } catch (err) {
      await frames.end().catch(() => {}); // what was said before the failure still reaches the client
      const failed = err instanceof AllProvidersFailed;
      this.deps.log.error({ err, messageId: message.id }, failed ? 'no AI provider could answer' : 'reply stream failed');
      const data = failed
        ? {
            content: err.text,
            error: err.reason,
            provider: null,
            model: null,
            promptTokens: err.usage.promptTokens,
            completionTokens: err.usage.completionTokens,
            cost: err.cost,
          }
        : { error: classifyFailure(err, 'DELIVERY_FAILED').reason };
      const updated = await this.deps.messages.finish(message.id, { ...data, status: 'FAILED' }).catch(() => null);
      if (!updated) return;
      final = updated;
    }
    // Before they learn it: whatever they read next (the history) has it, from whichever node.
    if (final.userId)
      await this.deps.marks
        ?.record(final.userId)
        .catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'could not record a write mark'));
    // Subscribers learn how the reply ended, COMPLETE or FAILED, with the stored message.
    await this.emit(message, { index, delta: '', done: true, message: final }).catch((err) =>
      this.deps.log.error({ err, messageId: message.id }, 'reply end could not be delivered'),
    );
  }

  private added(message: Message): void {
    void this.deps.pubsub
      .publish('messageAdded', message.conversationId, { conversationId: message.conversationId, message })
      .catch(() => {});
  }

  /**
   * The newest READY upload a beat should fit: in the conversation's project when it has one, else the
   * viewer's own. None is an error only when the message named an upload ("for my vocal").
   */
  private async uploadToFit(viewer: Viewer, projectId: string | null, named: boolean): Promise<Upload | null> {
    const upload = await this.deps.prisma.upload.findFirst({
      where: { AND: [uploadWhere(viewer, 'read'), { status: 'READY' }, projectId ? { projectId } : { userId: viewer.id }] },
      orderBy: [{ completedAt: 'desc' }, { id: 'desc' }],
    });
    if (!upload && named)
      throw new AppError(
        'BAD_USER_INPUT',
        `there is no analysed upload ${projectId ? 'in this project' : 'of yours'} yet: upload one (createUpload, then completeUpload) and ask again`,
      );
    return upload;
  }

  /** The conversation's last generation, for follow-ups ("make it faster", "give me the stems"). */
  private async lastGeneration(conversationId: string, types?: Generation['type'][]): Promise<Generation | null> {
    const m = await this.deps.prisma.message.findFirst({
      where: { conversationId, generationId: { not: null }, ...(types && { generation: { type: { in: types } } }) },
      orderBy: { createdAt: 'desc' },
      include: { generation: true },
    });
    return m?.generation ?? null;
  }

  /**
   * What the providers are told about the conversation: its project, last generation and recent turns.
   * The local provider reads none of it, so the queries run only when a remote provider may answer.
   */
  private async contextOf(c: Conversing, newMessageId: string): Promise<ChatContext> {
    if (!this.deps.router.usesContext) return NO_CONTEXT;
    const [project, newestFirst, last] = await Promise.all([
      c.project(),
      this.deps.prisma.message.findMany({
        where: { conversationId: c.id, status: 'COMPLETE', id: { not: newMessageId } },
        orderBy: { createdAt: 'desc' },
        take: CONTEXT_MESSAGES,
        select: { role: true, content: true },
      }),
      this.lastGeneration(c.id),
    ]);
    return {
      project: project ? { name: project.name, bpm: project.bpm, key: project.key } : null,
      lastGeneration: last ? { type: last.type, status: last.status, input: last.input } : null,
      recent: toTurns([...newestFirst].reverse()),
    };
  }

  private async startGeneration(viewer: Viewer, here: Conversing, parsed: ParsedMessage, content: string) {
    const { projectId } = here;
    switch (parsed.intent) {
      case 'CHAT':
        return null;
      case 'CREATE_STEMS': {
        const last = await this.lastGeneration(here.id, ['BEAT']);
        if (!last) throw new AppError('BAD_USER_INPUT', 'there is no beat in this conversation yet');
        return this.deps.generations.createStems(viewer, last.id);
      }
      case 'MASTER_TRACK': {
        const last = await this.lastGeneration(here.id, ['BEAT', 'MASTER', 'MIX']);
        if (!last) throw new AppError('BAD_USER_INPUT', 'there is no track in this conversation to master yet');
        const explicit = /(-\d+(?:\.\d+)?)\s*lufs/i.exec(content);
        const target = explicit
          ? Number(explicit[1])
          : parsed.modifiers.loudness === 'louder'
            ? -10
            : parsed.modifiers.loudness === 'quieter'
              ? -16
              : -14;
        return this.deps.generations.masterTrack(viewer, { generationId: last.id, uploadId: null }, target);
      }
      case 'MIX_TRACK':
        if (!projectId) throw new AppError('BAD_USER_INPUT', 'this conversation has no project to mix');
        return this.deps.generations.mixProject(viewer, projectId);
      case 'GENERATE_BEAT': {
        const last = parsed.followUp ? await this.lastGeneration(here.id, ['BEAT']) : null;
        const base = (last?.input ?? {}) as {
          genre?: string;
          bpm?: number;
          key?: string;
          mood?: string;
          durationSec?: number;
          seed?: number;
        };
        const project = await here.project();
        const e = parsed.entities;
        // "…for my upload": the upload's detected tempo and key, unless the message names its own.
        const upload = parsed.fitsUpload ? await this.uploadToFit(viewer, projectId, parsed.fitsUpload === 'named') : null;
        const fit = upload ? { bpm: Math.round(upload.bpm ?? 0) || undefined, key: upload.musicalKey ?? undefined } : {};
        const genre = e.genre ?? base.genre ?? 'lofi';
        let bpm = e.bpm ?? fit.bpm ?? base.bpm ?? project?.bpm ?? DEFAULT_BPM[genre as keyof typeof DEFAULT_BPM] ?? 90;
        if (!e.bpm && parsed.modifiers.tempo) bpm += parsed.modifiers.tempo === 'faster' ? 12 : -12;
        return this.deps.generations.generateBeat(viewer, {
          genre,
          bpm: Math.max(40, Math.min(220, bpm)),
          key: e.key ?? fit.key ?? base.key ?? project?.key ?? 'A minor',
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

/** Messages as provider turns: alternating, starting with the user's, ending before an unanswered message. */
function toTurns(messages: { role: string; content: string }[]): Turn[] {
  const turns: Turn[] = [];
  for (const m of messages) {
    if (m.role === 'SYSTEM' || !m.content) continue;
    const role = m.role === 'USER' ? 'user' : 'assistant';
    const previous = turns.at(-1);
    if (previous?.role === role) previous.content += `\n\n${m.content}`;
    else if (turns.length || role === 'user') turns.push({ role, content: m.content });
  }
  if (turns.at(-1)?.role === 'user') turns.pop(); // the new message supersedes an unanswered one
  return turns;
}
