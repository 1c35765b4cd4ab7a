/**
 * Where a reply's chunks go: a Redis Stream per message (kept STREAM_TTL_SEC, for replay from
 * `fromIndex`) and the chatChunk pub/sub topic (live). A Lua call appends each chunk and then
 * publishes it, atomically: a chunk is always stored before anyone can receive it live, so replay
 * followed by live events has no gap.
 *
 * Chunks emitted in the same turn of the event loop (replies streaming side by side) go in one
 * call, sent from setImmediate: one write and one round trip for all of them instead of one each.
 * On this kind of machine a write to Redis costs the api ~80 µs of CPU whatever its size, and
 * chunks were most of the writes (docs/benchmarks.md, chat).
 */
import type { ChatChunkEvent, PubSub } from '../../pubsub.js';
import { groupBy } from '../../group-by.js';
import { defineScript, hashTag, type Redis, retryWhileRedisAway } from '../../redis.js';

const STREAM_TTL_SEC = 3600;
/** How long a write waits for a replica to have it; past it the reply goes on (the replica is lagging or gone). */
const REPLICA_WAIT_MS = 250;

interface AppendPipeline {
  eval(script: string, ...args: readonly (string | number)[]): AppendPipeline;
  wait(replicas: number, timeoutMs: number): AppendPipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
}

// KEYS: one stream per chunk; ARGV[1] ttl, then per chunk: index, delta, done (0|1), channel, message.
// A chunk's entry id is 0-(index + 1): a chunk already stored (a call retried after its reply was
// lost with the connection) is refused by XADD, and then not published again either.
const APPEND_AND_PUBLISH = `
local added = 0
for i = 1, #KEYS do
  local a = 1 + (i - 1) * 5
  local id = '0-' .. (tonumber(ARGV[a + 1]) + 1)
  local ok = redis.pcall('XADD', KEYS[i], id, 'index', ARGV[a + 1], 'delta', ARGV[a + 2], 'done', ARGV[a + 3])
  if type(ok) ~= 'table' then
    if ARGV[a + 1] == '0' or ARGV[a + 3] == '1' then redis.call('EXPIRE', KEYS[i], ARGV[1]) end
    redis.call('PUBLISH', ARGV[a + 4], ARGV[a + 5])
    added = added + 1
  end
end
return added
`;

interface Pending {
  key: string;
  args: string[];
  done(err?: unknown): void;
}

export interface StoredChunk {
  index: number;
  delta: string;
  done: boolean;
}

export class ReplyStream {
  /** (key count, ...keys, ttl, ...per-chunk args) */
  private readonly append: (keyCount: number, ...keysThenArgs: string[]) => Promise<number>;
  private queued: Pending[] = [];
  private flushing = false;

  /**
   * `retryMs`: how long a chunk waits for Redis to come back (a restart, a Sentinel or Cluster
   * failover) before its reply fails; chunks are stored in order all the same.
   */
  constructor(
    private readonly redis: Redis,
    private readonly pubsub: PubSub,
    private readonly prefix: string,
    private readonly retryMs = 30_000,
    /** Replicas each write waits for (Sentinel, Cluster: 1); 0 with a single server. */
    private readonly replicas = 0,
  ) {
    this.append = defineScript(redis, 'dawgAppendChunks', APPEND_AND_PUBLISH);
  }

  /** The reply's stream; the message id is its hash tag, so one Redis Cluster slot holds it. */
  key(messageId: string): string {
    return `${this.prefix}chat:{${messageId}}`;
  }

  /** Stores the chunk, then publishes it to the conversation's chatStream subscribers; resolves once both are done. */
  emit(event: ChatChunkEvent): Promise<void> {
    const { channel, data } = this.pubsub.encode('chatChunk', event.conversationId, event);
    return new Promise((resolve, reject) => {
      this.queued.push({
        key: this.key(event.messageId),
        args: [String(event.index), event.delta, event.done ? '1' : '0', channel, data],
        done: (err) => (err ? reject(err) : resolve()),
      });
      if (this.queued.length === 1 && !this.flushing) setImmediate(() => void this.flush());
    });
  }

  /**
   * One batch at a time, so a batch retried through a failover is never overtaken by a later one:
   * chunks arriving meanwhile wait and go in the next batch. A Redis Cluster runs a script on one
   * slot only, so there the batch goes as one call per hash tag (per reply).
   */
  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queued.length) {
      const batch = this.queued;
      this.queued = [];
      await Promise.all(
        this.bySlot(batch).map((group) =>
          this.store(group).then(
            () => {
              for (const c of group) c.done();
            },
            (err) => {
              for (const c of group) c.done(err);
            },
          ),
        ),
      );
    }
    this.flushing = false;
  }

  private bySlot(batch: Pending[]): Pending[][] {
    if (!this.redis.isCluster) return [batch];
    return [...groupBy(batch, (c) => hashTag(c.key)).values()];
  }

  /** Writes a group's chunks, again while Redis is away (up to retryMs). */
  private store(group: Pending[]): Promise<void> {
    const args = [group.length, ...group.map((c) => c.key), String(STREAM_TTL_SEC), ...group.flatMap((c) => c.args)];
    return retryWhileRedisAway(() => this.write(args), Date.now() + this.retryMs, { firstDelayMs: 100, maxDelayMs: 1_000 });
  }

  private async write(args: (string | number)[]): Promise<void> {
    if (!this.replicas) {
      await this.append(...(args as [number, ...string[]]));
      return;
    }
    // Redis replicates asynchronously: a chunk the master took but had not yet passed on is gone if
    // that master dies and its replica takes over, leaving a gap no replay can fill. WAIT, sent in
    // the same pipeline (so to the same node, in a cluster), returns once a replica has the chunks
    // (or after REPLICA_WAIT_MS: a lagging or missing replica slows replies down but does not stop
    // them). If the connection drops before WAIT answers, nobody knows whether a replica has them:
    // they are written again (a chunk already stored is skipped by its entry id), on the new master
    // once there is one. EVAL, not the EVALSHA of the defined command: a promoted replica has no
    // script cache, and ioredis does not fall back to EVAL inside a pipeline.
    const discarded: [Error, null] = [new Error('Connection is closed (pipeline discarded)'), null];
    const [append, wait] = (await (this.redis.pipeline() as unknown as AppendPipeline)
      .eval(APPEND_AND_PUBLISH, ...args)
      .wait(this.replicas, REPLICA_WAIT_MS)
      .exec()) ?? [discarded, discarded];
    if (append?.[0]) throw append[0];
    if (wait?.[0]) throw wait[0];
  }

  /** The chunks stored for a reply, in order. */
  async stored(messageId: string): Promise<StoredChunk[]> {
    const entries = await this.redis.xrange(this.key(messageId), '-', '+');
    return entries.map(([, fields]) => {
      // XRANGE gives [name, value, name, value, …]
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
      return { index: Number(f.index), delta: f.delta ?? '', done: f.done === '1' };
    });
  }
}
