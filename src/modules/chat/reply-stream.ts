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
import { defineScript, type Redis } from '../../redis.js';

const STREAM_TTL_SEC = 3600;

// KEYS: one stream per chunk; ARGV[1] ttl, then per chunk: index, delta, done (0|1), channel, message
const APPEND_AND_PUBLISH = `
for i = 1, #KEYS do
  local a = 1 + (i - 1) * 5
  redis.call('XADD', KEYS[i], '*', 'index', ARGV[a + 1], 'delta', ARGV[a + 2], 'done', ARGV[a + 3])
  if ARGV[a + 1] == '0' or ARGV[a + 3] == '1' then redis.call('EXPIRE', KEYS[i], ARGV[1]) end
  redis.call('PUBLISH', ARGV[a + 4], ARGV[a + 5])
end
return #KEYS
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

  constructor(
    private readonly redis: Redis,
    private readonly pubsub: PubSub,
    private readonly prefix: string,
  ) {
    this.append = defineScript(redis, 'dawgAppendChunks', APPEND_AND_PUBLISH);
  }

  key(messageId: string): string {
    return `${this.prefix}chat:${messageId}`;
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
      if (this.queued.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.queued;
    this.queued = [];
    this.append(batch.length, ...batch.map((c) => c.key), String(STREAM_TTL_SEC), ...batch.flatMap((c) => c.args)).then(
      () => {
        for (const c of batch) c.done();
      },
      (err) => {
        for (const c of batch) c.done(err);
      },
    );
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
