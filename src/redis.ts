import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

export type { Redis };

/** Where Redis is: a URL (one server), or Redis Sentinel's master by name. */
export type RedisTarget = string | { sentinels: { host: string; port: number }[]; name: string; password?: string };

/** The configured Redis (REDIS_MODE): REDIS_URL, or the Sentinel master (its password from REDIS_URL's, if any). */
export function redisTarget(
  config: Pick<Config, 'REDIS_MODE' | 'REDIS_URL' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_MASTER'>,
): RedisTarget {
  if (config.REDIS_MODE !== 'sentinel') return config.REDIS_URL;
  const password = decodeURIComponent(new URL(config.REDIS_URL).password) || undefined;
  return { sentinels: config.REDIS_SENTINELS, name: config.REDIS_SENTINEL_MASTER, password };
}

/**
 * An ioredis connection that reconnects forever with capped backoff, so a
 * Redis restart is ridden out rather than crashing the process.
 */
export function createRedis(
  target: RedisTarget,
  log: Logger,
  name: string,
  options: RedisOptions & {
    /**
     * Once connected, a command issued while Redis is away fails at once instead of waiting for a
     * reconnection: for the api's request path, which degrades (rate limits fail open, a generation
     * waits for the queue) and must answer within 2 s. Commands before the first connection queue.
     */
    failFast?: boolean;
  } = {},
): Redis {
  const { failFast, ...redisOptions } = options;
  const base: RedisOptions = {
    connectionName: name,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    // While Redis is away, a command waits for one reconnection attempt, then fails: callers degrade
    // (see docs/operations.md) instead of hanging. BullMQ workers override this with null.
    maxRetriesPerRequest: 1,
    ...redisOptions,
  };
  // Sentinel: ioredis asks the sentinels for the master, and again after a failover (a replica
  // promoted), reconnecting its commands and subscriptions there.
  const redis =
    typeof target === 'string'
      ? new Redis(target, base)
      : new Redis({ ...base, sentinels: target.sentinels, name: target.name, password: target.password });
  if (failFast)
    redis.once('ready', () => {
      redis.options.enableOfflineQueue = false;
    });
  let lastError = '';
  redis.on('error', (err: Error) => {
    // One line per distinct error, not one per retry.
    if (err.message !== lastError) log.warn({ err: err.message, connection: name }, 'redis connection error');
    lastError = err.message;
  });
  redis.on('ready', () => {
    if (lastError) log.info({ connection: name }, 'redis reconnected');
    lastError = '';
  });
  return redis;
}

/**
 * A Lua script as a function on `redis` (EVALSHA, loaded on first use). `numberOfKeys` fixed, or
 * left out to pass the count first on each call.
 */
export function defineScript<Args extends unknown[], Result>(
  redis: Redis,
  name: string,
  lua: string,
  numberOfKeys?: number,
): (...args: Args) => Promise<Result> {
  redis.defineCommand(name, numberOfKeys === undefined ? { lua } : { lua, numberOfKeys });
  const command = (redis as unknown as Record<string, (...args: Args) => Promise<Result>>)[name];
  if (!command) throw new Error(`redis script ${name} was not defined`);
  return command.bind(redis);
}

/** QUIT when connected (flushes pending replies); otherwise drop the socket rather than wait for Redis to return. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    await redis.quit().catch(() => redis.disconnect());
  } else {
    redis.disconnect();
  }
}
