/**
 * The pub/sub module against a real Redis: leaving a subscription while the subscriber connection is
 * closed (Redis away, or the server stopping) must not end the process with an unhandled rejection,
 * as graphql-redis-subscriptions' own unsubscribe did (a SIGTERM exited 1 under a full suite).
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterEach, expect, inject, it } from 'vitest';
import { PubSub } from '../../src/pubsub.js';
import { createRedis, type Redis } from '../../src/redis.js';

const opened: Redis[] = [];
afterEach(() => {
  for (const r of opened.splice(0)) r.disconnect();
});

it('leaves a subscription quietly when the subscriber connection is already closed', async () => {
  const log = pino({ level: 'silent' });
  const publisher = createRedis(inject('redisUrl'), log, 'test-pub');
  const subscriber = createRedis(inject('redisUrl'), log, 'test-sub');
  opened.push(publisher, subscriber);
  const pubsub = new PubSub(publisher, subscriber, `${inject('redisPrefix')}${randomBytes(3).toString('hex')}:`);
  const live = await pubsub.subscribeReady('messageAdded', 'c1');
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await subscriber.quit();
    await live.return?.();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
