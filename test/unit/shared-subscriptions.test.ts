import { describe, expect, it } from 'vitest';
import { SharedSubscriptions } from '../../src/transport/shared-subscriptions.js';

/** A controllable source: push() values, end(); records whether it was closed. */
function source() {
  const queue: number[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  const state = { closed: false, started: 0 };
  const iterable: AsyncIterableIterator<number> = {
    async next() {
      while (!queue.length && !ended && !state.closed) await new Promise<void>((r) => (wake = r));
      if (queue.length) return { value: queue.shift() as number, done: false };
      return { value: undefined, done: true };
    },
    async return() {
      state.closed = true;
      wake?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return {
    state,
    start: async () => {
      state.started++;
      return iterable;
    },
    push: (v: number) => {
      queue.push(v);
      wake?.();
    },
    end: () => {
      ended = true;
      wake?.();
    },
  };
}

const take = async (it: AsyncIterator<unknown>, n: number) => {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push((await it.next()).value);
  return out;
};

/** What the transport does: join a running stream for the key, else start and share one. */
async function subscribe(hub: SharedSubscriptions, key: string, start: () => Promise<AsyncIterable<unknown>>) {
  return hub.attach(key) ?? hub.share(key, await start());
}

describe('SharedSubscriptions', () => {
  it('starts one source for identical keys and gives every subscriber every value', async () => {
    const hub = new SharedSubscriptions();
    const src = source();
    const a = await subscribe(hub, 'k', src.start);
    const b = await subscribe(hub, 'k', src.start);
    expect(src.state.started).toBe(1);
    expect(hub.size).toBe(1);
    src.push(1);
    src.push(2);
    expect(await take(a, 2)).toEqual([1, 2]);
    expect(await take(b, 2)).toEqual([1, 2]);
  });

  it('keeps different keys apart', async () => {
    const hub = new SharedSubscriptions();
    const one = source();
    const two = source();
    const a = await subscribe(hub, 'one', one.start);
    const b = await subscribe(hub, 'two', two.start);
    one.push(1);
    two.push(2);
    expect(await take(a, 1)).toEqual([1]);
    expect(await take(b, 1)).toEqual([2]);
    expect(hub.size).toBe(2);
  });

  it('closes the source when the last subscriber leaves, not before', async () => {
    const hub = new SharedSubscriptions();
    const src = source();
    const a = await subscribe(hub, 'k', src.start);
    const b = await subscribe(hub, 'k', src.start);
    await a.return?.();
    expect(src.state.closed).toBe(false);
    src.push(7);
    expect(await take(b, 1)).toEqual([7]);
    await b.return?.();
    expect(src.state.closed).toBe(true);
    expect(hub.size).toBe(0);
    expect(hub.has('k')).toBe(false);
    const c = await subscribe(hub, 'k', src.start);
    expect(src.state.started).toBe(2);
    await c.return?.();
  });

  it('ends every subscriber when the source ends, and frees the key at once', async () => {
    const hub = new SharedSubscriptions();
    const src = source();
    const a = await subscribe(hub, 'k', src.start);
    src.end();
    expect(await a.next()).toEqual({ value: undefined, done: true });
    expect(hub.size).toBe(0);
    expect(hub.attach('k')).toBeNull();
  });

  it('a subscriber attaching after the source ended completes instead of waiting forever', async () => {
    const hub = new SharedSubscriptions();
    const src = source();
    const a = await subscribe(hub, 'k', src.start);
    const late = hub.share('other', (await source().start()) as AsyncIterable<unknown>);
    src.end();
    await a.next();
    // The key is free: a new subscriber starts its own source rather than joining the ended one.
    const b = await subscribe(hub, 'k', src.start);
    expect(src.state.started).toBe(2);
    await b.return?.();
    await late.return?.();
  });

  it('does not share a source when one already runs for the key (two first subscribers raced)', async () => {
    const hub = new SharedSubscriptions();
    const first = source();
    const second = source();
    const a = hub.share('k', await first.start());
    const own = await second.start();
    const b = hub.share('k', own);
    expect(b).toBe(own);
    await a.return?.();
  });
});

describe('a first subscriber still setting up', () => {
  it('is announced to identical subscriptions until it settles, with how it ended', async () => {
    const shared = new SharedSubscriptions();
    expect(shared.starting('k')).toBeUndefined();
    const settle = shared.begin('k');
    const waiting = shared.starting('k');
    expect(waiting).toBeInstanceOf(Promise);
    expect(shared.starting('other')).toBeUndefined();
    settle('shared');
    expect(await waiting).toBe('shared');
    expect(shared.starting('k')).toBeUndefined();
  });

  it('a later first does not lose its announcement to an earlier one that settles after it began', async () => {
    const shared = new SharedSubscriptions();
    const early = shared.begin('k');
    const earlyWait = shared.starting('k');
    early('failed');
    const late = shared.begin('k');
    const lateWait = shared.starting('k');
    early('failed'); // settling twice changes nothing
    expect(shared.starting('k')).toBe(lateWait);
    late('shared');
    expect([await earlyWait, await lateWait]).toEqual(['failed', 'shared']);
  });
});
