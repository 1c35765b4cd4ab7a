import { Cluster, Redis as RedisServer, type RedisOptions } from 'ioredis';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { installLeanPipelines, keepAutoPipelineTables } from './redis-pipeline.js';
import { settleWithin } from './timeout.js';

/** A connection to the configured Redis: one server (single, Sentinel's master) or a Redis Cluster. */
export type Redis = RedisServer | Cluster;

type HostPort = { host: string; port: number };

/** Where Redis is: a URL (one server), Redis Sentinel's master by name, or a Redis Cluster's nodes. */
export type RedisTarget =
  | string
  | { sentinels: HostPort[]; name: string; password?: string }
  | { cluster: HostPort[]; password?: string };

/**
 * The configured Redis (REDIS_MODE): REDIS_URL, the Sentinel master, or the cluster (the password of
 * those two from REDIS_URL's, if any).
 */
export function redisTarget(
  config: Pick<Config, 'REDIS_MODE' | 'REDIS_URL' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_MASTER' | 'REDIS_CLUSTER_NODES'>,
): RedisTarget {
  if (config.REDIS_MODE === 'single') return config.REDIS_URL;
  const password = decodeURIComponent(new URL(config.REDIS_URL).password) || undefined;
  if (config.REDIS_MODE === 'cluster') return { cluster: config.REDIS_CLUSTER_NODES, password };
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
    /**
     * A cluster connection that asks for the slots every TOPOLOGY_REFRESH_MS, besides after an error:
     * for pub/sub's subscriber, which sends nothing to the masters and so would not otherwise learn that
     * one left (PubSub.watchInterruptions).
     */
    followTopology?: boolean;
  } = {},
): Redis {
  installLeanPipelines();
  const { failFast, followTopology, ...redisOptions } = options;
  const base: RedisOptions = {
    connectionName: name,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    // While Redis is away, a command waits for one reconnection attempt, then fails: callers degrade
    // (see docs/operations.md) instead of hanging. BullMQ workers override this with null.
    maxRetriesPerRequest: 1,
    ...redisOptions,
  };
  const redis = connect(target, base, followTopology ?? false);
  if (redis.options.enableAutoPipelining) keepAutoPipelineTables(redis);
  if (redis.isCluster) connectEveryMaster(redis as Cluster);
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
 * ioredis opens a cluster master's connection at the first command sent there, which then waits for
 * the connect (2 ms idle, far more under load) while the process's other connections go ahead: a
 * generation's first event, published through a master not used yet, could reach Redis after the
 * worker took its job (queued on BullMQ's connection) and published the next, and be dropped as the
 * older. Every master is connected as soon as the slots are known: at start, and after each refresh (a
 * promoted replica, a new master).
 */
function connectEveryMaster(cluster: Cluster): void {
  cluster.on('refresh', () => {
    for (const node of cluster.nodes('master')) if (node.status === 'wait') node.connect().catch(() => {});
  });
}

/**
 * How often a `followTopology` cluster connection asks for the slots. A master that dies is dropped
 * from its pool ('-node') only at a refresh, and events published through it just before it died may
 * never have reached the other nodes: the api must see it leave to close its sockets (1012) and let
 * clients replay what they missed.
 */
const TOPOLOGY_REFRESH_MS = 1_000;

function connect(target: RedisTarget, options: RedisOptions, followTopology: boolean): Redis {
  if (typeof target === 'string') return new RedisServer(target, options);
  // Sentinel: ioredis asks the sentinels for the master, and again after a failover (a replica
  // promoted), reconnecting its commands and subscriptions there.
  if ('sentinels' in target)
    return new RedisServer({ ...options, sentinels: target.sentinels, name: target.name, password: target.password });
  // Cluster: ioredis learns the slots from any node, follows MOVED/ASK, and refreshes the slots when a
  // master fails and its replica takes over. Its offline queue and retries cover the failover itself.
  // No auto-pipelining: ioredis 5.11 refuses an automatic pipeline whose keys span several slots of
  // one node ("All keys in the pipeline should belong to the same slots allocation group").
  const { retryStrategy, maxRetriesPerRequest, connectionName, enableOfflineQueue, enableAutoPipelining: _, ...rest } = options;
  return new Cluster(target.cluster, {
    clusterRetryStrategy: retryStrategy as (times: number) => number,
    enableOfflineQueue,
    slotsRefreshTimeout: 2_000,
    ...(followTopology ? { slotsRefreshInterval: TOPOLOGY_REFRESH_MS } : {}),
    // A command to a master that died is retried every 200 ms, 50 times (about 10 s), while the
    // cluster promotes its replica (cluster-node-timeout plus an election).
    maxRedirections: 50,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 200,
    redisOptions: { ...rest, connectionName, maxRetriesPerRequest, password: target.password },
  });
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
    // QUIT waits for its reply; a node that died (a cluster after a failover) never sends one.
    await settleWithin(redis.quit(), 2_000);
  }
  redis.disconnect();
}

/**
 * Whether a command failed because Redis is away or moving (a restart, a Sentinel or Cluster
 * failover), so the same command may succeed later, rather than because Redis refused it. A Cluster's
 * new subscriber connection whose ready check failed (a SUBSCRIBE's reply came first and put it in
 * subscriber mode, so its INFO was refused) rejects what it held with that refusal ("Connection in
 * subscriber mode"), and ioredis then picks another connection.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError' || err.name === 'ClusterAllFailedError' || err.name === 'AbortError') return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH)$/.test(code)) return true;
  return /^(MOVED|ASK) |Connection is closed|Too many Cluster redirections|Stream isn't writeable|enableOfflineQueue|CLUSTERDOWN|TRYAGAIN|LOADING|READONLY|MASTERDOWN|Failed to refresh slots|None of startup nodes|connect ETIMEDOUT|Connection in subscriber mode/.test(
    err.message,
  );
}

/**
 * `attempt` again while Redis is away (isRedisUnavailable), after waits that double from
 * `firstDelayMs` up to `maxDelayMs`, until `deadline`; any other failure, or one past the deadline,
 * or one once `worthRetrying` says no (the connection was closed on purpose), is thrown. The waits
 * do not keep the process alive.
 */
export async function retryWhileRedisAway<T>(
  attempt: () => Promise<T>,
  deadline: number,
  {
    firstDelayMs,
    maxDelayMs,
    worthRetrying = () => true,
  }: { firstDelayMs: number; maxDelayMs: number; worthRetrying?: () => boolean },
): Promise<T> {
  for (let wait = firstDelayMs; ; wait = Math.min(wait * 2, maxDelayMs)) {
    try {
      return await attempt();
    } catch (err) {
      if (!isRedisUnavailable(err) || Date.now() >= deadline || !worthRetrying()) throw err;
      await new Promise((r) => setTimeout(r, wait).unref());
    }
  }
}

/** The part of a key Redis Cluster hashes to pick its slot: the first non-empty {…}, else the whole key. */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}
