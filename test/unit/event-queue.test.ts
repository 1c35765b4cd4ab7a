import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../src/event-queue.js';

describe('EventQueue: a subscriber’s events as an async iterator', () => {
  it('hands events to a waiting reader, or keeps them in order for the next reads', async () => {
    const queue = new EventQueue<number>();
    const waiting = queue.next();
    queue.push(1);
    expect(await waiting).toEqual({ value: 1, done: false });
    queue.push(2);
    queue.push(3);
    expect(await queue.next()).toEqual({ value: 2, done: false });
    expect(await queue.next()).toEqual({ value: 3, done: false });
  });

  it('serves readers waiting together in the order they asked', async () => {
    const queue = new EventQueue<string>();
    const first = queue.next();
    const second = queue.next();
    queue.push('a');
    queue.push('b');
    expect(await Promise.all([first, second])).toEqual([
      { value: 'a', done: false },
      { value: 'b', done: false },
    ]);
  });

  it('return() leaves the channel once, ends waiting readers, and drops what came after', async () => {
    let left = 0;
    const queue = new EventQueue<number>().subscribed(() => left++);
    const waiting = queue.next();
    expect(await queue.return()).toEqual({ value: undefined, done: true });
    expect(await waiting).toEqual({ value: undefined, done: true });
    queue.push(1);
    expect(await queue.next()).toEqual({ value: undefined, done: true });
    await queue.return();
    expect(left).toBe(1);
  });

  it('throw() leaves the channel and rejects with the error', async () => {
    let left = 0;
    const queue = new EventQueue<number>().subscribed(() => left++);
    queue.push(1);
    await expect(queue.throw(new Error('stop'))).rejects.toThrow('stop');
    expect(left).toBe(1);
    // What was queued is dropped with it.
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });

  it('works with for await, which returns it when the loop breaks', async () => {
    let left = 0;
    const queue = new EventQueue<number>().subscribed(() => left++);
    queue.push(1);
    queue.push(2);
    const seen: number[] = [];
    for await (const n of queue) {
      seen.push(n);
      if (n === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    expect(left).toBe(1);
  });
});
