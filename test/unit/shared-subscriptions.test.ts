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

describe('SharedSubscriptions', () => {
  it('starts one source for identical keys and gives every subscriber every value', async () => {
    const hub = new SharedSubscriptions();
    const src = source();
    const a = (await hub.subscribe('k', src.start)) as AsyncIterator<unknown>;
    const b = (await hub.subscribe('k', src.start)) as AsyncIterator<unknown>;
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
    const a = (await hub.subscribe('one', one.start)) as AsyncIterator<unknown>;
    const b = (await hub.subscribe('two', two.start)) as AsyncIterator<unknown>;
    one.push(1);
    two.push(2);
    expect(await take(a, 1)).toEqual([1]);
    expect(await take(b, 1)).toEqual([2]);
    expect(hub.size).toBe(2);
  });

  it('closes the source when the last subscriber leaves, not before', async () => {
    const hub = new SharedSubscriptions();
    const src = source();
    const a = (await hub.subscribe('k', src.start)) as AsyncIterator<unknown>;
    const b = (await hub.subscribe('k', src.start)) as AsyncIterator<unknown>;
    await a.return?.();
    expect(src.state.closed).toBe(false);
    src.push(7);
    expect(await take(b, 1)).toEqual([7]);
    await b.return?.();
    expect(src.state.closed).toBe(true);
    expect(hub.size).toBe(0);
    const c = (await hub.subscribe('k', src.start)) as AsyncIterator<unknown>;
    expect(src.state.started).toBe(2);
    await c.return?.();
  });

  it('ends every subscriber when the source ends', async () => {
    const hub = new SharedSubscriptions();
    const src = source();
    const a = (await hub.subscribe('k', src.start)) as AsyncIterator<unknown>;
    src.end();
    expect(await a.next()).toEqual({ value: undefined, done: true });
    expect(hub.size).toBe(0);
  });

  it('does not share an error result: each subscriber runs its own start', async () => {
    const hub = new SharedSubscriptions();
    let calls = 0;
    const failing = async () => ({ errors: [{ message: `not found ${++calls}` }] });
    expect(await hub.subscribe('k', failing)).toEqual({ errors: [{ message: 'not found 1' }] });
    expect(await hub.subscribe('k', failing)).toEqual({ errors: [{ message: 'not found 2' }] });
    expect(hub.size).toBe(0);
  });
});
