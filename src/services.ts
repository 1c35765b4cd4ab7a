/** Builds every service from its dependencies; the app and tests each build their own. */
import { ProjectAccessWatch } from './modules/projects/access-watch.js';
import { MemberService } from './modules/projects/member.service.js';
import { Presence } from './modules/projects/presence.js';
import { UsageService } from './modules/usage/usage.service.js';
import { Access } from './access/access.js';
import type { Config } from './config.js';
import type { Db, Sql } from './db/client.js';
import type { WriteMarks } from './db/write-marks.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { FramePace } from './modules/chat/frame-pace.js';
import { createProviderRouter } from './modules/chat/providers/index.js';
import { AuthService } from './modules/auth/auth.service.js';
import { TokenRevocations } from './modules/auth/revocations.js';
import { TokenService } from './modules/auth/tokens.js';
import type { Limiters } from './rate-limit.js';
import { ConversationService } from './modules/conversations/conversation.service.js';
import { GenerationService } from './modules/generations/generation.service.js';
import { ProjectService } from './modules/projects/project.service.js';
import type { PubSub } from './pubsub.js';
import type { Queue } from 'bullmq';
import type { GenerationJob } from './jobs/generation-job.js';
import type { UploadJob } from './jobs/upload-job.js';
import { UploadService } from './modules/uploads/upload.service.js';
import { QueuePosition } from './modules/generations/queue-position.js';
import type { Storage } from './storage/index.js';
import type { Redis } from './redis.js';
import { ChatService } from './modules/chat/chat.service.js';
import { MessageStore } from './modules/chat/message.store.js';

export interface ServiceDeps {
  config: Config;
  prisma: Db;
  /** Read-your-writes marks (src/db/write-marks.ts); null without read replicas. */
  marks: WriteMarks | null;
  /** The pool under `prisma`, for the statements written as SQL. */
  sql: Sql;
  pubsub: PubSub;
  queue: Queue<GenerationJob>;
  uploadQueue: Queue<UploadJob>;
  storage: Storage;
  redis: Redis;
  log: Logger;
  metrics: Metrics;
  limiters: Limiters;
}

export function createServices({
  config,
  prisma,
  marks,
  sql,
  pubsub,
  queue,
  uploadQueue,
  storage,
  redis,
  log,
  metrics,
  limiters,
}: ServiceDeps) {
  const revocations = new TokenRevocations({ redis, prisma, prefix: config.REDIS_PREFIX });
  const tokens = new TokenService(config.JWT_SECRET, config.JWT_TTL_SECONDS, revocations);
  const access = new Access(prisma);
  const projects = new ProjectService({ prisma, pubsub, access });
  const members = new MemberService({ prisma, pubsub, access });
  const projectAccess = new ProjectAccessWatch({ pubsub, log });
  const usage = new UsageService({ prisma, monthlyBudgetUsd: config.AI_USER_MONTHLY_BUDGET_USD });
  const presence = new Presence({ redis, pubsub, prefix: config.REDIS_PREFIX, log });
  const conversations = new ConversationService({ prisma, access });
  const uploads = new UploadService({ prisma, pubsub, queue: uploadQueue, storage, access, log, config });
  const generations = new GenerationService({
    prisma,
    sql,
    pubsub,
    queue,
    access,
    log,
    maxPending: config.GENERATION_MAX_PENDING,
    mixMaxTracks: config.MIX_MAX_TRACKS,
  });
  return {
    pubsub,
    access,
    tokens,
    auth: new AuthService({ prisma, tokens, limiters }),
    projects,
    members,
    projectAccess,
    presence,
    usage,
    conversations,
    storage,
    uploads,
    generations,
    queuePosition: new QueuePosition({ prisma, queue, workerConcurrency: config.WORKER_CONCURRENCY }),
    chat: new ChatService({
      prisma,
      access,
      redis,
      pubsub,
      messages: new MessageStore(sql),
      generations,
      router: createProviderRouter(config, metrics, log),
      log,
      prefix: config.REDIS_PREFIX,
      maxConcurrentReplies: config.CHAT_MAX_CONCURRENT_REPLIES,
      framePace: new FramePace(config.CHAT_FRAME_MS, config.CHAT_FRAME_MAX_MS, (ms) => metrics.chatFrameSeconds.set(ms / 1000)),
      redisWaitMs: config.REDIS_FAILOVER_WAIT_MS,
      redisReplicas: config.REDIS_MODE === 'single' ? 0 : 1,
      usage,
      metrics,
      marks,
    }),
  };
}

export type Services = ReturnType<typeof createServices>;
