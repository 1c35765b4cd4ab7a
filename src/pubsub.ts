/**
 * The one typed pub/sub module: every event with its topic and payload type.
 * Backed by Redis (graphql-redis-subscriptions), so an event published by any
 * api or worker process reaches subscribers on every api instance.
 */
import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Generation, Message, Project } from './generated/prisma/client.js';
import type { Cluster, Redis as RedisServer } from 'ioredis';
import { EventQueue } from './event-queue.js';
import { defineScript, type Redis, retryWhileRedisAway } from './redis.js';

/** Event name → payload. Dates travel as ISO strings and are revived (keys ending in "At"). */
export interface EventMap {
  /** A message was stored in a conversation. */
  messageAdded: { conversationId: string; message: Message };
  /** A project or one of its tracks changed. */
  projectUpdated: { projectId: string; project: Project };
  /** A generation changed state or progressed (keyed by generation id). */
  generationProgress: GenerationEvent;
  /** The same events, keyed by the generation's owner. */
  userGenerations: GenerationEvent;
  /** A chunk of an assistant reply (keyed by conversation); `done` closes the message. */
  chatChunk: ChatChunkEvent;
  /** Something happened in a project, for its members (keyed by project): see ProjectEvent. */
  projectEvent: ProjectEvent;
  /**
   * A user lost access to a project (removed, or left): their subscriptions on it end (key 'all').
   * Published ahead of everything after it (PubSub.publishAhead); `id` tells one revocation's copies apart.
   */
  projectAccessRevoked: { projectId: string; userId: string; id: string };
  /** An upload's analysis ended (READY or FAILED), for the completeUpload waiting on it (keyed by upload). */
  uploadSettled: { uploadId: string; status: 'READY' | 'FAILED' };
}

export interface ChatChunkEvent {
  conversationId: string;
  messageId: string;
  index: number;
  delta: string;
  done: boolean;
  message: Message | null;
}

export type ProjectEventKind =
  | 'PROJECT_UPDATED'
  | 'TRACK_ADDED'
  | 'TRACK_UPDATED'
  | 'TRACK_REMOVED'
  | 'MEMBER_JOINED'
  | 'MEMBER_LEFT'
  | 'MEMBER_ROLE_CHANGED'
  | 'GENERATION_PROGRESS'
  | 'PRESENCE';

/** Ids only (each subscriber loads what it may see), besides a generation's progress and who is present. */
export interface ProjectEvent {
  projectId: string;
  kind: ProjectEventKind;
  /** Who made the change; null for the worker. */
  byUserId: string | null;
  trackId?: string;
  /** The member concerned (MEMBER_*). */
  userId?: string;
  generation?: GenerationEvent;
  /** PRESENCE: the users who have the project open now. */
  present?: string[];
}

export interface GenerationEvent {
  generation: Generation;
  percent: number;
  stage: string | null;
}

export type EventName = keyof EventMap;

const TOPICS: { [K in EventName]: (key: string) => string } = {
  messageAdded: (conversationId) => `conversation:${conversationId}:message-added`,
  projectUpdated: (projectId) => `project:${projectId}:updated`,
  generationProgress: (generationId) => `generation:${generationId}:progress`,
  userGenerations: (userId) => `user:${userId}:generations`,
  chatChunk: (conversationId) => `conversation:${conversationId}:chat`,
  projectAccessRevoked: () => 'project-access:revoked',
  projectEvent: (projectId) => `project:${projectId}:events`,
  uploadSettled: (uploadId) => `upload:${uploadId}:settled`,
};

/** PUBLISH as a script keyed by its channel, so a Redis Cluster runs it on the master of the channel's slot. */
const PUBLISH_ON_SLOT = "return redis.call('PUBLISH', KEYS[1], ARGV[1])";

/**
 * The publisher, publishing each channel's events in order. In a Redis Cluster, PUBLISH names no key,
 * so ioredis sends each one to any master, which forwards it over the cluster bus: two events published
 * one after the other on one channel could reach a subscriber in either order (77 of 2,000 in a probe
 * on three masters). Through a script keyed by the channel, every event of a channel goes through the
 * master of its slot, over one connection and one bus link, so it arrives in the order it was sent (0
 * of 2,000). One server, or Sentinel's master: one connection, already in order. Not covered: chat
 * chunks, published by their own script keyed by the reply (modules/chat/reply-stream.ts), and a
 * command ioredis sends again during a failover or a slot move, which a later one can overtake.
 */
function inChannelOrder(publisher: Redis): Redis {
  if (!publisher.isCluster) return publisher;
  let script: ((channel: string, message: string) => Promise<number>) | null = null;
  // Defined at the first publish: a process that only subscribes never defines it.
  const publish = (channel: string, message: string) => {
    script ??= defineScript<[string, string], number>(publisher, 'dawgPublishOnSlot', PUBLISH_ON_SLOT, 1);
    return script(channel, message);
  };
  return new Proxy(publisher, {
    get(target, prop) {
      if (prop === 'publish') return publish;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * An event as a subscriber gets it: its JSON parsed, then each string under a key ending in "At" made
 * a Date, at any depth (an array's items are walked, not revived: their keys are indexes). One walk
 * after a plain JSON.parse, not a reviver: since V8 11.4 (Node 22 and 24) JSON.parse hands a reviver
 * each value's source text too, and parsing a messageAdded event with one took 13 µs on Node 22 and
 * 24 (8 on Node 20), against 3-4 this way, the Buffer graphql-redis-subscriptions wraps the message in
 * included; it left garbage for the collector besides (docs/benchmarks.md, "Events parsed without a
 * reviver"). Invalid JSON throws: the library then hands the listeners the raw message, as before.
 */
export function decodeEvent(source: string | Buffer): unknown {
  return reviveDates(JSON.parse(typeof source === 'string' ? source : source.toString()));
}

function reviveDates(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (const item of value) reviveDates(item);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const field = record[key];
    if (typeof field === 'string') {
      if (key.endsWith('At')) record[key] = new Date(field);
    } else reviveDates(field);
  }
  return value;
}

export class PubSub {
  private readonly redisPubSub: RedisPubSub;
  private readonly subscriber: Redis;
  private readonly publisher: Redis;

  /**
   * `publisher` may be shared with other commands; `subscriber` is dedicated (subscriber mode).
   * `subscribeWaitMs` (REDIS_FAILOVER_WAIT_MS): how long a subscription being set up tries again
   * while its SUBSCRIBE fails because Redis is away or the subscriber is moving (see subscribe).
   */
  constructor(
    publisher: Redis,
    subscriber: Redis,
    private readonly prefix: string,
    private readonly subscribeWaitMs = 30_000,
  ) {
    this.redisPubSub = new RedisPubSub({
      publisher: inChannelOrder(publisher),
      subscriber: quietUnsubscribe(subscriber),
      deserializer: decodeEvent,
    });
    this.subscriber = subscriber;
    this.publisher = publisher;
  }

  /**
   * Calls `resumed` each time pub/sub is back after being cut: the subscriber's connection closed and
   * is ready again (a Redis restart, a Sentinel failover), or, in a Redis Cluster, a master left (it
   * failed over: events published through it just before may never have reached the other nodes) or
   * the subscriber moved to another connection (its connection ended or its node went away), and
   * the cluster answers again. Events published in between never reached this process's
   * subscribers. A replica that comes or goes (a restart, a first sync) is not a cut unless the
   * subscriber was on it. In a cluster, before `resumed` every channel the process listens on is
   * subscribed again (resubscribeAll). Returns a function that stops watching (before a server stop
   * closes the connections).
   */
  watchInterruptions(resumed: () => void, settleMs = 500): () => void {
    const sub = this.subscriber;
    let cut = false;
    // Cuts so far: a check counts as the end only of the cuts before it started (a later one has its
    // own check waiting, whose SUBSCRIBE goes to the connection as it is then).
    let cuts = 0;
    // A cluster drops the replicas it was given as startup nodes from its pool before its first
    // ready: those are not cuts.
    let started = sub.status === 'ready';
    let timer: NodeJS.Timeout | null = null;
    // Once the caller stops watching, a check still under way neither resumes nor tries again.
    let stopped = false;
    // The subscriber's connection when last looked at; `seen` once it had one (never, if ioredis hides it).
    let subscribedOn = subscriberConnection(sub);
    let seen = subscribedOn !== undefined;
    const check = () => {
      timer = null;
      const before = cuts;
      this.resubscribeAll().then(
        () => {
          if (stopped || !cut || cuts !== before) return;
          cut = false;
          resumed();
        },
        () => {
          if (!stopped && cuts === before) timer = setTimeout(check, settleMs);
        },
      );
    };
    const onCut = () => {
      if (!started) return;
      cut = true;
      cuts++;
      if (sub.isCluster) {
        if (timer) clearTimeout(timer);
        timer = setTimeout(check, settleMs);
      }
    };
    const onReady = () => {
      started = true;
      // Where the subscriptions are as it starts (ioredis may have moved them while it connected).
      subscribedOn = subscriberConnection(sub);
      seen ||= subscribedOn !== undefined;
      if (cut && !sub.isCluster) {
        cut = false;
        resumed();
      }
    };
    // Cluster: a node left the pool (at a slots refresh, or its connection ended).
    const onNodeLeft = (node: RedisServer) => {
      if (!node.options.readOnly) onCut();
    };
    // Cluster: after each slots refresh (every second for the subscriber, see createRedis). A new
    // connection is a cut even on the same node: the old one's events after it closed were lost.
    const onRefresh = () => {
      const now = subscriberConnection(sub);
      if (seen && now !== subscribedOn) onCut();
      seen ||= now !== undefined;
      subscribedOn = now;
    };
    if (sub.isCluster) {
      sub.on('-node', onNodeLeft);
      sub.on('refresh', onRefresh);
    } else sub.on('close', onCut);
    sub.on('ready', onReady);
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      sub.off('-node', onNodeLeft);
      sub.off('refresh', onRefresh);
      sub.off('close', onCut);
      sub.off('ready', onReady);
    };
  }

  /** The Redis Cluster node (host:port) this process's subscriptions are on now; undefined elsewhere. */
  subscriberNode(): string | undefined {
    const options = subscriberConnection(this.subscriber)?.options;
    return options ? `${options.host}:${options.port}` : undefined;
  }

  /**
   * SUBSCRIBEs again to every channel the process listens on (its standing listener's included), on
   * the subscriber connection as it is now; PING if there is none. In a Redis Cluster ioredis carries
   * over to a new subscriber connection only the channels of the last one that had resubscribed in
   * full, and reports nothing it drops: a SUBSCRIBE confirmed on a connection that closed before that
   * (one whose ready check failed because the SUBSCRIBE's reply put it in subscriber mode first) is
   * gone, while graphql-redis-subscriptions still counts it. Redis ignores a SUBSCRIBE to a channel
   * the connection already has. Refused while the connection is between its connect and its ready
   * check, where ioredis would send a SUBSCRIBE at once and so fail that check: the caller tries again.
   */
  private resubscribeAll(): Promise<unknown> {
    if (subscriberConnection(this.subscriber)?.status === 'connect')
      return Promise.reject(new Error('the subscriber connection is not ready yet'));
    // Those with a listener (a failed SUBSCRIBE leaves its channel with none): one confirmed on a
    // connection that then closed is among them.
    const channels = [...this.subscriptions().subsRefsMap].filter(([, refs]) => refs.size > 0).map(([channel]) => channel);
    return channels.length ? this.subscriber.subscribe(...channels) : this.subscriber.ping();
  }

  /** graphql-redis-subscriptions' own maps (2.7): its channels, and its listeners by id. */
  private subscriptions() {
    return this.redisPubSub as unknown as {
      subsRefsMap: Map<string, Set<number>>;
      subscriptionMap: Record<string, [string, unknown]>;
      subsPendingRefsMap: Map<string, { pending: { promise: Promise<unknown> } }>;
    };
  }

  /** The Redis channel an event travels on. */
  channel<K extends EventName>(event: K, key: string): string {
    return `${this.prefix}${TOPICS[event](key)}`;
  }

  /** An event as it travels: its channel and the JSON the subscribers parse (for publishing from a Redis script). */
  encode<K extends EventName>(event: K, key: string, payload: EventMap[K]): { channel: string; data: string } {
    return { channel: this.channel(event, key), data: JSON.stringify(payload) };
  }

  publish<K extends EventName>(event: K, key: string, payload: EventMap[K]): Promise<void> {
    return this.redisPubSub.publish(this.channel(event, key), payload);
  }

  /**
   * Publishes an event that must reach every subscriber before anything published after it, on any
   * channel (a revocation: nothing the user lost may follow it). One server, or Sentinel's master: one
   * connection, already in order. In a Redis Cluster, each channel's events go through the master of
   * its slot (inChannelOrder) and that master's bus links, so two channels need not keep their order:
   * the event is published from every master, ahead of what follows on each. A subscriber then gets a
   * copy per master, and takes the first (the payload carries an id for that). A master that fails
   * (in a failover) is skipped; if no copy lands, the event is published as any other, through the
   * Cluster's own routing and retries, and that publish's failure is the caller's.
   */
  async publishAhead<K extends EventName>(event: K, key: string, payload: EventMap[K]): Promise<void> {
    if (!this.publisher.isCluster) return this.publish(event, key, payload);
    const { channel, data } = this.encode(event, key, payload);
    const masters = (this.publisher as Cluster).nodes('master');
    const sent = await Promise.allSettled(masters.map((node) => node.publish(channel, data)));
    if (!sent.some((copy) => copy.status === 'fulfilled')) await this.publish(event, key, payload);
  }

  /**
   * Calls `onEvent` for each event on `event`/`key` as Redis hands it over: synchronously, so across
   * channels in the order they arrived (an event's listener has run before the next event reaches any
   * other). Resolves once Redis confirms the subscription, with how to leave the channel.
   */
  async listen<K extends EventName>(event: K, key: string, onEvent: (payload: EventMap[K]) => void): Promise<() => void> {
    const id = await this.subscribe(this.channel(event, key), onEvent);
    return () => this.redisPubSub.unsubscribe(id);
  }

  /**
   * A subscriber's events on `event`/`key`, resolved once Redis confirms the subscription, so a
   * snapshot read afterwards cannot miss an event published in between. Its return() leaves the
   * channel (graphql/live-subscription.ts calls it on every path).
   */
  async subscribeReady<K extends EventName>(event: K, key: string): Promise<AsyncIterableIterator<EventMap[K]>> {
    const queue = new EventQueue<EventMap[K]>();
    const id = await this.subscribe(this.channel(event, key), queue.push);
    return queue.subscribed(() => this.redisPubSub.unsubscribe(id));
  }

  /**
   * Adds a listener to `channel`; resolves with its id once Redis confirms the subscription. A SUBSCRIBE
   * that fails because Redis is away is tried again, for up to subscribeWaitMs, while the subscriber
   * connection is still meant to be open: a Redis restart, a Sentinel failover, or a Redis Cluster's
   * subscriber moving to another connection (ioredis drops the commands under way on the one it
   * leaves; what it subscribes the next one to, watchInterruptions completes). One closed on purpose
   * (a server stop) fails at once.
   */
  private subscribe<T>(channel: string, listener: (payload: T) => void): Promise<number> {
    return retryWhileRedisAway(() => this.subscribeOnce(channel, listener), Date.now() + this.subscribeWaitMs, {
      firstDelayMs: 100,
      maxDelayMs: 1_000,
      worthRetrying: () => this.subscriber.status !== 'end',
    });
  }

  private subscribeOnce<T>(channel: string, listener: (payload: T) => void): Promise<number> {
    const subscribed = this.redisPubSub.subscribe(channel, listener);
    // When SUBSCRIBE fails (Redis away, or closed by a server stop while this was being set up), the
    // library (2.7) rejects the channel's internal pending promise too, which nothing awaits unless
    // another subscriber joined meanwhile: an unhandled rejection that ends the process. The failure
    // itself still reaches the caller through `subscribed`.
    this.subscriptions()
      .subsPendingRefsMap.get(channel)
      ?.pending.promise.catch(() => {});
    return subscribed;
  }

  /**
   * Channels this process is subscribed to for clients and the listeners on them (for leak tests
   * and metrics); the process's own standing listener (projectAccessRevoked) is not counted.
   */
  stats(): { channels: number; listeners: number } {
    const inner = this.subscriptions();
    const own = this.channel('projectAccessRevoked', 'all');
    const channels = [...inner.subsRefsMap.keys()].filter((c) => c !== own).length;
    const listeners = Object.values(inner.subscriptionMap).filter(([c]) => c !== own).length;
    return { channels, listeners };
  }
}

/**
 * The connection a Redis Cluster client's subscriptions are on now, if it has one. ioredis keeps them
 * on one connection to a node it picks (ClusterSubscriber), which it replaces when that connection
 * ends or its node goes away, resubscribing there; it announces no event for it, and the instance is
 * not in its typings (ioredis 5.11). Undefined for one server or Sentinel, or if that changes: a move
 * is then not noticed, as before this check.
 */
function subscriberConnection(redis: Redis): RedisServer | undefined {
  if (!redis.isCluster) return undefined;
  const inner = (redis as unknown as { subscriber?: { getInstance?: () => RedisServer | null } }).subscriber;
  return inner?.getInstance?.() ?? undefined;
}

/**
 * graphql-redis-subscriptions calls the subscriber's unsubscribe and punsubscribe without handling
 * their promises. While Redis is away or closing (a server stop), they reject, and an unhandled
 * rejection ends the process. A channel that cannot be left is gone with the connection anyway.
 */
function quietUnsubscribe(subscriber: Redis): Redis {
  return new Proxy(subscriber, {
    get(target, prop) {
      if (prop === 'unsubscribe' || prop === 'punsubscribe')
        return (...channels: string[]) => target[prop](...channels).catch(() => 0);
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
