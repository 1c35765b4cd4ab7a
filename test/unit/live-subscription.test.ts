import { describe, expect, it } from 'vitest';
import type { Context } from '../../src/graphql/context.js';
import {
  checkOnly,
  isShareable,
  liveSubscription,
  releaseSubscription,
  wasCancelled,
} from '../../src/graphql/live-subscription.js';

/**
 * A pub/sub whose subscriptions wait for pushed events, counting acquisitions and releases; with
 * `failRelease`, ending a subscription rejects (after it has ended), as an unsubscribe that fails.
 */
function fakeContext({ failRelease = false } = {}) {
  const counts = { acquired: 0, released: 0 };
  const queue: unknown[] = [];
  let wake: ((r: IteratorResult<unknown>) => void) | null = null;
  let open = true;
  const live: AsyncIterableIterator<unknown> = {
    next: () =>
      queue.length
        ? Promise.resolve({ value: queue.shift(), done: false })
        : open
          ? new Promise((resolve) => {
              wake = resolve;
            })
          : Promise.resolve({ value: undefined, done: true }),
    return: async () => {
      if (open) counts.released++;
      open = false;
      wake?.({ value: undefined, done: true });
      if (failRelease) throw new Error('unsubscribe failed');
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return live;
    },
  };
  const ctx = {
    services: {
      pubsub: {
        subscribeReady: async () => {
          counts.acquired++;
          return live;
        },
      },
    },
  } as unknown as Context;
  const push = (v: unknown) => (wake ? wake({ value: v, done: false }) : queue.push(v));
  return { ctx, counts, push };
}

/** A head (`follow`) whose every step is `step`, counting how often it is called. */
function countedHead(step: () => Promise<IteratorResult<unknown>>) {
  const head = {
    calls: 0,
    follow: (): AsyncIterable<unknown> => ({
      [Symbol.asyncIterator]: () => ({
        next: () => {
          head.calls++;
          return step();
        },
      }),
    }),
  };
  return head;
}

/** A head (`follow`) that yields 'head', then the live events, and counts its cleanups. */
function headWithCleanup() {
  const head = {
    cleaned: 0,
    follow: async function* (live: AsyncIterable<unknown>) {
      try {
        yield 'head';
        yield* live;
      } finally {
        head.cleaned++;
      }
    },
  };
  return head;
}

describe('liveSubscription', () => {
  it('acquires nothing when an argument check fails', async () => {
    const { ctx, counts } = fakeContext();
    await expect(
      liveSubscription(ctx, async () => {
        throw new Error('NOT_FOUND');
      }),
    ).rejects.toThrow('NOT_FOUND');
    expect(counts.acquired).toBe(0);
  });

  it('return() while a next() waits for an event releases at once (no event needed) and ends that next()', async () => {
    const { ctx, counts } = fakeContext();
    const stream = await liveSubscription(ctx, async () => ({ event: 'messageAdded' as const, key: 'c' }));
    const pending = stream.next();
    await stream.return(undefined);
    expect(counts.released).toBe(1);
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it('return() before the first next() still releases (a generator never started would skip its finally)', async () => {
    const { ctx, counts } = fakeContext();
    const stream = await liveSubscription(ctx, async () => ({ event: 'messageAdded' as const, key: 'c' }));
    await stream.return(undefined);
    expect(counts).toEqual({ acquired: 1, released: 1 });
  });

  it('a head that fails releases the subscription, once', async () => {
    const { ctx, counts } = fakeContext();
    const stream = await liveSubscription(ctx, async () => ({
      event: 'messageAdded' as const,
      key: 'c',
      // biome-ignore lint/correctness/useYield: a head that fails before yielding
      follow: async function* () {
        throw new Error('snapshot failed');
      },
    }));
    await expect(stream.next()).rejects.toThrow('snapshot failed');
    await releaseSubscription(ctx);
    expect(counts).toEqual({ acquired: 1, released: 1 });
  });

  it('a stream that ends by itself releases the subscription, once, before its done step is seen', async () => {
    const { ctx, counts, push } = fakeContext();
    const stream = await liveSubscription(ctx, async () => ({
      event: 'messageAdded' as const,
      key: 'c',
      follow: async function* (live: AsyncIterable<unknown>) {
        for await (const event of live) {
          yield event;
          return; // one event, then the stream is over
        }
      },
    }));
    push('only');
    expect(await stream.next()).toEqual({ value: 'only', done: false });
    expect(counts.released).toBe(0);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(counts).toEqual({ acquired: 1, released: 1 });
    await stream.return(undefined);
    expect(counts.released).toBe(1);
  });

  it("return() reaches the stream's own steps: a head's cleanup runs, and the subscription is released", async () => {
    const { ctx, counts, push } = fakeContext();
    const head = headWithCleanup();
    const stream = await liveSubscription(ctx, async () => ({ event: 'messageAdded' as const, key: 'c', follow: head.follow }));
    expect((await stream.next()).value).toBe('head');
    push('live');
    expect((await stream.next()).value).toBe('live');
    expect(await stream.return(undefined)).toEqual({ value: undefined, done: true });
    expect({ cleaned: head.cleaned, ...counts }).toEqual({ cleaned: 1, acquired: 1, released: 1 });
  });

  it('a stream whose next() throws at once fails that step and releases; later steps are done without calling it', async () => {
    const { ctx, counts } = fakeContext();
    const head = countedHead(() => {
      throw new Error('broken head');
    });
    const stream = await liveSubscription(ctx, async () => ({ event: 'messageAdded' as const, key: 'c', follow: head.follow }));
    await expect(stream.next()).rejects.toThrow('broken head');
    expect(counts).toEqual({ acquired: 1, released: 1 });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(head.calls).toBe(1);
  });

  it('after its end, next() answers done without calling the stream, even when the release failed', async () => {
    const { ctx, counts } = fakeContext({ failRelease: true });
    const head = countedHead(() => Promise.resolve({ value: undefined, done: true }));
    const stream = await liveSubscription(ctx, async () => ({ event: 'messageAdded' as const, key: 'c', follow: head.follow }));
    await expect(stream.next()).rejects.toThrow('unsubscribe failed');
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect({ calls: head.calls, released: counts.released }).toEqual({ calls: 1, released: 1 });
  });

  it('after return(), next() answers done without calling the stream', async () => {
    const { ctx, counts } = fakeContext();
    const head = countedHead(() => Promise.resolve({ value: 'still here', done: false }));
    const stream = await liveSubscription(ctx, async () => ({ event: 'messageAdded' as const, key: 'c', follow: head.follow }));
    await stream.return(undefined);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect({ calls: head.calls, released: counts.released }).toEqual({ calls: 0, released: 1 });
  });

  it("return() whose release fails still runs the head's cleanup, then rejects with the release's error", async () => {
    const { ctx, counts } = fakeContext({ failRelease: true });
    const head = headWithCleanup(); // its cleanup stands for leaving the project's presence list
    const stream = await liveSubscription(ctx, async () => ({ event: 'messageAdded' as const, key: 'c', follow: head.follow }));
    expect((await stream.next()).value).toBe('head');
    await expect(stream.return(undefined)).rejects.toThrow('unsubscribe failed');
    expect({ cleaned: head.cleaned, released: counts.released }).toEqual({ cleaned: 1, released: 1 });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('throw() releases, reaches the head, and a head that ends on it finishes the stream', async () => {
    const { ctx, counts } = fakeContext();
    const seen: unknown[] = [];
    const stream = await liveSubscription(ctx, async () => ({
      event: 'messageAdded' as const,
      key: 'c',
      follow: async function* (live: AsyncIterable<unknown>) {
        try {
          yield 'head';
          yield* live;
        } catch (err) {
          seen.push((err as Error).message);
        }
      },
    }));
    expect((await stream.next()).value).toBe('head');
    expect(await stream.throw(new Error('client gone'))).toEqual({ value: undefined, done: true });
    expect({ seen, released: counts.released }).toEqual({ seen: ['client gone'], released: 1 });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('yields the head, then live events; only a head-less stream is shareable', async () => {
    const { ctx, push } = fakeContext();
    const stream = await liveSubscription(ctx, async () => ({
      event: 'messageAdded' as const,
      key: 'c',
      follow: async function* (live: AsyncIterable<unknown>) {
        yield 'head';
        yield* live;
      },
    }));
    expect(isShareable(ctx)).toBe(false);
    expect((await stream.next()).value).toBe('head');
    push('live');
    expect((await stream.next()).value).toBe('live');
    await stream.return(undefined);
    const plain = fakeContext();
    await liveSubscription(plain.ctx, async () => ({ event: 'messageAdded' as const, key: 'c' }));
    expect(isShareable(plain.ctx)).toBe(true);
  });

  it('in check-only mode runs the checks and acquires nothing', async () => {
    const { ctx, counts } = fakeContext();
    checkOnly(ctx);
    const stream = await liveSubscription(ctx, async () => ({ event: 'messageAdded' as const, key: 'c' }));
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(counts.acquired).toBe(0);
  });

  it('released while its checks run (the client completed, the socket closed): acquires nothing and ends', async () => {
    const { ctx, counts } = fakeContext();
    const stream = await liveSubscription(ctx, async () => {
      await releaseSubscription(ctx);
      return { event: 'messageAdded' as const, key: 'c' };
    });
    expect(wasCancelled(ctx)).toBe(true);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(counts.acquired).toBe(0);
  });

  it('released while Redis confirms the subscription: lets it go at once and ends', async () => {
    const { ctx, counts } = fakeContext();
    const pubsub = ctx.services.pubsub as unknown as { subscribeReady: () => Promise<unknown> };
    const confirm = pubsub.subscribeReady;
    pubsub.subscribeReady = () => {
      const confirmed = confirm();
      void releaseSubscription(ctx);
      return confirmed;
    };
    const stream = await liveSubscription(ctx, async () => ({ event: 'messageAdded' as const, key: 'c' }));
    expect(counts).toEqual({ acquired: 1, released: 1 });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('released while access to its project is checked again: lets it go, reads no head, and ends', async () => {
    const { ctx, counts } = fakeContext();
    let heads = 0;
    let watching = false;
    Object.assign(ctx, { viewer: { id: 'u' } });
    Object.assign(ctx.services, {
      projectAccess: {
        watch: () => {
          watching = true;
          return () => {
            watching = false;
          };
        },
      },
      access: {
        project: {
          require: async () => {
            await releaseSubscription(ctx);
          },
        },
      },
    });
    const stream = await liveSubscription(ctx, async () => ({
      event: 'projectUpdated' as const,
      key: 'p',
      projectId: 'p',
      follow: (live: AsyncIterable<unknown>) => {
        heads++;
        return live;
      },
    }));
    expect(counts).toEqual({ acquired: 1, released: 1 });
    expect({ heads, watching, cancelled: wasCancelled(ctx) }).toEqual({ heads: 0, watching: false, cancelled: true });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('a release after the subscription is held ends it, and does not mark the operation cancelled', async () => {
    const { ctx, counts, push } = fakeContext();
    const stream = await liveSubscription(ctx, async () => ({ event: 'messageAdded' as const, key: 'c' }));
    push('one');
    expect(await stream.next()).toEqual({ value: 'one', done: false });
    await releaseSubscription(ctx);
    expect(wasCancelled(ctx)).toBe(false);
    expect(counts).toEqual({ acquired: 1, released: 1 });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });
});
