/**
 * Rate limits, shared by every api instance: rate-limiter-flexible's RateLimiterRedis (one Lua call
 * per check, so concurrent hits cannot slip past the limit).
 *
 * - `requests`: every operation (query, mutation, and each graphql-ws subscribe) per user, or per
 *   client IP when not logged in; RATE_LIMIT_PER_MINUTE.
 * - `loginAccount` / `loginIp`: logIn attempts per email and per IP; `signUpIp`: signUp per IP.
 *
 * While Redis is unreachable: `requests` fails open (an outage of the limiter must not become an
 * outage of the api) and `login_*` / `signup_ip` fall back to counting in this process's memory
 * (insuranceLimiter), so password guessing stays bounded. Both are logged once per outage and counted
 * in dawg_rate_limit_degraded_total.
 */
import type { Plugin } from 'graphql-yoga';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from './config.js';
import { rateLimited } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Redis } from './redis.js';

export type LimiterName = 'requests' | 'cost' | 'login_account' | 'login_ip' | 'signup_ip';

export interface LimitOptions {
  name: LimiterName;
  points: number;
  durationSec: number;
  /** 'allow': unchecked while Redis is away; 'memory': counted per process meanwhile. */
  withoutRedis: 'allow' | 'memory';
}

export class Limiter {
  private readonly limiter: RateLimiterRedis;
  private degraded = false;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly options: LimitOptions,
    private readonly deps: { log: Logger; metrics: Metrics },
  ) {
    const { points, durationSec: duration } = options;
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${prefix}rl:${options.name}`,
      points,
      duration,
      // Not ready = refuse at once (or use the insurance), rather than queue behind ioredis' reconnects.
      rejectIfRedisNotReady: true,
      insuranceLimiter: options.withoutRedis === 'memory' ? new RateLimiterMemory({ points, duration }) : undefined,
    });
  }

  /** Counts `points` hits (default one) for `key`; `retryAfter` (s) when over the limit. */
  async consume(key: string, points = 1): Promise<{ allowed: true } | { allowed: false; retryAfter: number }> {
    // The insurance limiter answers silently, so Redis' state is read here to log and count it.
    const down = this.redis.status !== 'ready';
    if (down) this.noteDegraded();
    else this.degraded = false;
    try {
      await this.limiter.consume(key, points);
      return { allowed: true };
    } catch (res) {
      if (res instanceof RateLimiterRes) {
        this.deps.metrics.rateLimited.inc({ limiter: this.options.name });
        return { allowed: false, retryAfter: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) };
      }
      // A Redis error without insurance ('allow'); already counted if Redis was known to be down.
      if (!down) this.noteDegraded(res);
      return { allowed: true };
    }
  }

  /** Forgets `key`'s count (a successful logIn clears its email's failures). */
  async reset(key: string): Promise<void> {
    await this.limiter.delete(key).catch(() => {});
  }

  private noteDegraded(err?: unknown) {
    this.deps.metrics.rateLimitDegraded.inc({ limiter: this.options.name });
    if (this.degraded) return;
    this.degraded = true;
    this.deps.log.warn(
      { limiter: this.options.name, err: err instanceof Error ? err.message : undefined },
      this.options.withoutRedis === 'allow'
        ? 'rate limit unchecked: Redis unreachable (failing open)'
        : 'rate limit counted in memory: Redis unreachable',
    );
  }
}

export interface Limiters {
  requests: Limiter;
  /** Operation cost per user (per IP anonymous) per minute: src/graphql/limits.ts's cost model. */
  cost: Limiter;
  loginAccount: Limiter;
  loginIp: Limiter;
  signUpIp: Limiter;
}

export function createLimiters(redis: Redis, config: Config, deps: { log: Logger; metrics: Metrics }): Limiters {
  const make = (options: LimitOptions) => new Limiter(redis, config.REDIS_PREFIX, options, deps);
  const login = { durationSec: config.LOGIN_WINDOW_SEC, withoutRedis: 'memory' } as const;
  return {
    requests: make({ name: 'requests', points: config.RATE_LIMIT_PER_MINUTE, durationSec: 60, withoutRedis: 'allow' }),
    cost: make({ name: 'cost', points: config.GRAPHQL_COST_PER_MINUTE, durationSec: 60, withoutRedis: 'allow' }),
    loginAccount: make({ name: 'login_account', points: config.LOGIN_ATTEMPTS_PER_ACCOUNT, ...login }),
    loginIp: make({ name: 'login_ip', points: config.LOGIN_ATTEMPTS_PER_IP, ...login }),
    signUpIp: make({ name: 'signup_ip', points: config.SIGNUPS_PER_IP_PER_HOUR, durationSec: 3600, withoutRedis: 'memory' }),
  };
}

/** What the plugin reads of the GraphQL context (src/graphql/context.ts), without importing it. */
export interface Caller {
  viewer: { id: string } | null;
  clientIp: string | null;
}

export const subjectOf = (ctx: Caller) => (ctx.viewer ? `user:${ctx.viewer.id}` : `ip:${ctx.clientIp ?? 'unknown'}`);

/**
 * Counts every operation against `requests`: queries and mutations (onExecute) and subscriptions
 * (onSubscribe, which graphql-ws runs through the same envelop pipeline), on every transport.
 */
export function useRateLimit(limiter: Limiter): Plugin<Caller> {
  return {
    onExecute: async ({ args, setResultAndStopExecution }) => {
      const result = await limiter.consume(subjectOf(args.contextValue));
      if (!result.allowed) setResultAndStopExecution({ errors: [rateLimited(result.retryAfter)] });
    },
    onSubscribe: async ({ args, setResultAndStopExecution }) => {
      const result = await limiter.consume(subjectOf(args.contextValue));
      if (!result.allowed) setResultAndStopExecution({ errors: [rateLimited(result.retryAfter)] });
    },
  };
}
