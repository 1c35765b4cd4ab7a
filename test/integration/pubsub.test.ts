/**
 * The pub/sub module against a real Redis: leaving a subscription, or setting one up, while the
 * subscriber connection is closed (Redis away, or the server stopping) must not end the process with
 * an unhandled rejection, as graphql-redis-subscriptions' own unsubscribe and pending subscribe did (a
 * SIGTERM exited 1 under a full suite).
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterEach, expect, inject, it } from 'vitest';
import { PubSub } from '../../src/pubsub.js';
import { createRedis, type Redis } from '../../src/redis.js';
import { freePort } from '../helpers/harness.js';
import { startRedisServer } from '../helpers/process.js';

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

function pubsubOnRedis() {
  const publisher = createRedis(inject('redisUrl'), log, 'test-pub');
  const subscriber = createRedis(inject('redisUrl'), log, 'test-sub');
  opened.push(publisher, subscriber);
  const pubsub = new PubSub(publisher, subscriber, `${inject('redisPrefix')}${randomBytes(3).toString('hex')}:`);
  return { pubsub, subscriber };
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

it('sets up a subscription while its Redis restarts: the SUBSCRIBE is tried again until Redis is back', async () => {
  const port = await freePort();
  let server = await startRedisServer(port);
  const publisher = createRedis(server.url, log, 'test-pub');
  const subscriber = createRedis(server.url, log, 'test-sub');
  opened.push(publisher, subscriber);
  const pubsub = new PubSub(publisher, subscriber, 'restart:', 10_000);
  await pubsub.subscribeReady('messageAdded', 'warm'); // connected once
  await server.kill();
  const ready = pubsub.subscribeReady('messageAdded', 'c3');
  const settled = { value: false };
  void ready.then(
    () => (settled.value = true),
    () => (settled.value = true),
  );
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(settled.value).toBe(false); // still trying while Redis is away
  server = await startRedisServer(port);
  try {
    const live = await ready;
    const next = live.next();
    await publisher.publish(
      pubsub.channel('messageAdded', 'c3'),
      JSON.stringify({ conversationId: 'c3', message: { id: 'm1' } }),
    );
    expect((await next).value).toMatchObject({ conversationId: 'c3' });
    await live.return?.();
  } finally {
    await server.kill();
  }
});
