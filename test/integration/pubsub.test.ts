/**
 * The pub/sub module against a real Redis: leaving a subscription, or setting one up, while the
 * subscriber connection is closed (Redis away, or the server stopping) must not end the process with
 * an unhandled rejection, as graphql-redis-subscriptions' own unsubscribe and pending subscribe did (a
 * SIGTERM exited 1 under a full suite). And an event delivered here ahead of its publication reaches
 * each listener once, in order, with its copy from Redis going only to the listeners that lacked it.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterEach, expect, inject, it } from 'vitest';
import { type ChatChunkEvent, PubSub } from '../../src/pubsub.js';
import { createRedis, type Redis, redisTarget } from '../../src/redis.js';
import { testConfig } from '../helpers/harness.js';

const opened: Redis[] = [];
const log = pino({ level: 'silent' });

/** Unhandled rejections while `run` runs, and for 200 ms after. */
async function unhandledDuring(run: () => Promise<void>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await run();
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  return unhandled;
}

/**
 * `target`: the one Redis server by default (closing a Cluster connection fails differently); the
 * tests' Redis as configured, a Cluster or Sentinel under `npm run test:redis-topologies`.
 */
function pubsubOnRedis(target: ReturnType<typeof redisTarget> | string = inject('redisUrl')) {
  const publisher = createRedis(target, log, 'test-pub');
  const subscriber = createRedis(target, log, 'test-sub');
  opened.push(publisher, subscriber);
  const pubsub = new PubSub(publisher, subscriber, `${inject('redisPrefix')}${randomBytes(3).toString('hex')}:`);
  return { pubsub, subscriber, publisher };
}
afterEach(() => {
  for (const r of opened.splice(0)) r.disconnect();
});

it('leaves a subscription quietly when the subscriber connection is already closed', async () => {
  const { pubsub, subscriber } = pubsubOnRedis();
  const live = await pubsub.subscribeReady('messageAdded', 'c1');
  const unhandled = await unhandledDuring(async () => {
    await subscriber.quit();
    await live.return?.();
  });
  expect(unhandled).toEqual([]);
});

it('fails a subscription set up on a closed subscriber connection with its error, and nothing unhandled', async () => {
  const { pubsub, subscriber } = pubsubOnRedis();
  await subscriber.quit();
  const unhandled = await unhandledDuring(async () => {
    await expect(pubsub.subscribeReady('messageAdded', 'c2')).rejects.toThrow('Connection is closed');
  });
  expect(unhandled).toEqual([]);
});

/** A reader still waiting after a `nextWithin` that timed out, which the next call takes over. */
const waiting = new Map<AsyncIterator<unknown>, Promise<unknown>>();

/** The next event, or 'nothing' if none comes within `ms`. */
async function nextWithin<T>(events: AsyncIterator<T>, ms: number): Promise<T | 'nothing'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'nothing'>((resolve) => {
    timer = setTimeout(() => resolve('nothing'), ms);
  });
  const next = (waiting.get(events) as Promise<T> | undefined) ?? events.next().then((r) => r.value as T);
  waiting.set(events, next);
  try {
    const got = await Promise.race([next, timeout]);
    if (got !== 'nothing') waiting.delete(events);
    return got;
  } finally {
    clearTimeout(timer);
  }
}

it('delivers an event here before it is published, and its copy from Redis only to the listeners that lacked it', async () => {
  const { pubsub } = pubsubOnRedis(redisTarget(testConfig()));
  const chunk = (index: number, done = false): ChatChunkEvent =>
    ({
      conversationId: 'c3',
      messageId: 'm1',
      index,
      delta: done ? '' : `word${index} `,
      done,
      message: done ? { id: 'm1', createdAt: '2026-12-04T00:00:00.000Z' } : null,
    }) as unknown as ChatChunkEvent;
  const early = await pubsub.subscribeReady('chatChunk', 'c3');
  const first = pubsub.encode('chatChunk', 'c3', chunk(0));
  pubsub.deliverHere(first.channel, first.data);
  // Not published yet: only the delivery here can have brought it.
  expect(await nextWithin(early, 0)).toMatchObject({ index: 0, delta: 'word0 ' });
  const late = await pubsub.subscribeReady('chatChunk', 'c3');
  const last = pubsub.encode('chatChunk', 'c3', chunk(1, true));
  pubsub.deliverHere(last.channel, last.data);
  // `late` must not have the second before the first's copy: it gets both from Redis, in order.
  // (Published as encoded: the same JSON. Through PubSub.publish, in channel order on a Cluster too.)
  await pubsub.publish('chatChunk', 'c3', chunk(0));
  await pubsub.publish('chatChunk', 'c3', chunk(1, true));
  const earlyLast = await nextWithin(early, 1000);
  expect(earlyLast).toMatchObject({ index: 1, done: true });
  expect((earlyLast as ChatChunkEvent).message?.createdAt).toBeInstanceOf(Date);
  expect(await nextWithin(late, 1000)).toMatchObject({ index: 0 });
  const lateLast = await nextWithin(late, 1000);
  expect(lateLast).toMatchObject({ index: 1, done: true });
  expect((lateLast as ChatChunkEvent).message?.createdAt).toBeInstanceOf(Date);
  // No second copy for anyone; a message published from elsewhere reaches both.
  expect(await nextWithin(early, 200)).toBe('nothing');
  expect(await nextWithin(late, 0)).toBe('nothing');
  await pubsub.publish('chatChunk', 'c3', chunk(2));
  expect(await nextWithin(early, 1000)).toMatchObject({ index: 2 });
  expect(await nextWithin(late, 1000)).toMatchObject({ index: 2 });
  await early.return?.();
  await late.return?.();
});
