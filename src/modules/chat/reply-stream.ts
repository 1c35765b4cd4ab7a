/**
 * Where a reply's chunks go: a Redis Stream per message (kept STREAM_TTL_SEC, for replay from
 * `fromIndex`) and the chatChunk pub/sub topic (live). One Lua call per chunk appends it and then
 * publishes it, atomically: a chunk is always stored before anyone can receive it live, so replay
 * followed by live events has no gap, in one round trip instead of three.
 */
import type { ChatChunkEvent, PubSub } from '../../pubsub.js';
import type { Redis } from '../../redis.js';

const STREAM_TTL_SEC = 3600;

// KEYS[1] stream; ARGV: index, delta, done (0|1), ttl, channel, message
const APPEND_AND_PUBLISH = `
redis.call('XADD', KEYS[1], '*', 'index', ARGV[1], 'delta', ARGV[2], 'done', ARGV[3])
if ARGV[1] == '0' or ARGV[3] == '1' then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
return redis.call('PUBLISH', ARGV[5], ARGV[6])
`;

type AppendCommand = (key: string, ...args: string[]) => Promise<number>;

export interface StoredChunk {
  index: number;
  delta: string;
  done: boolean;
}

export class ReplyStream {
  private readonly append: AppendCommand;

  constructor(
    private readonly redis: Redis,
    private readonly pubsub: PubSub,
    private readonly prefix: string,
  ) {
    redis.defineCommand('dawgAppendChunk', { numberOfKeys: 1, lua: APPEND_AND_PUBLISH });
    const command = (redis as unknown as { dawgAppendChunk: AppendCommand }).dawgAppendChunk;
    this.append = command.bind(redis);
  }

  key(messageId: string): string {
    return `${this.prefix}chat:${messageId}`;
  }

  /** Stores the chunk, then publishes it to the conversation's chatStream subscribers. */
  async emit(event: ChatChunkEvent): Promise<void> {
    const { channel, data } = this.pubsub.encode('chatChunk', event.conversationId, event);
    await this.append(
      this.key(event.messageId),
      String(event.index),
      event.delta,
      event.done ? '1' : '0',
      String(STREAM_TTL_SEC),
      channel,
      data,
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
