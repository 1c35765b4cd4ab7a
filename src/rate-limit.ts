/**
 * Fixed-window request limits in Redis (the seed's 100 requests/minute per
 * user), shared by every api instance. Anonymous callers are limited by IP.
 */
import type { Plugin } from 'graphql-yoga';
import { rateLimited } from './errors.js';
import type { Context } from './graphql/context.js';
import type { Redis } from './redis.js';

export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly limit: number,
    private readonly windowSec = 60,
  ) {}

  /** Counts one request for `subject`; returns the seconds to wait when over the limit. */
  async hit(subject: string): Promise<{ allowed: boolean; retryAfter: number }> {
    const window = Math.floor(Date.now() / 1000 / this.windowSec);
    const key = `${this.prefix}ratelimit:${subject}:${window}`;
    const retryAfter = (window + 1) * this.windowSec - Math.floor(Date.now() / 1000);
    try {
      const count = await this.redis.incr(key);
      if (count === 1) await this.redis.expire(key, this.windowSec + 1);
      return { allowed: count <= this.limit, retryAfter };
    } catch {
      // Redis away: fail open rather than refuse every request.
      return { allowed: true, retryAfter };
    }
  }
}

/** Limits queries and mutations (subscriptions are limited by their socket's connection). */
export function useRateLimit(limiter: RateLimiter): Plugin<Context> {
  return {
    onExecute: async ({ args, setResultAndStopExecution }) => {
      const ctx = args.contextValue;
      const subject = ctx.viewer ? `user:${ctx.viewer.id}` : `ip:${ctx.clientIp ?? 'unknown'}`;
      const { allowed, retryAfter } = await limiter.hit(subject);
      if (!allowed) setResultAndStopExecution({ errors: [rateLimited(retryAfter)] });
    },
  };
}
