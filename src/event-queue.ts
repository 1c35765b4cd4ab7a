/**
 * One subscriber's pub/sub events as an async iterator: `push` is the listener, `next` the reader,
 * `return` ends it and leaves the channel. An event costs one promise and one result, per subscriber
 * (graphql-redis-subscriptions' own iterator awaits its subscription again in every push and every
 * next). The Redis subscription is the library's, confirmed before the queue is handed out
 * (PubSub.subscribeReady).
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  private readonly queued: T[] = [];
  private readonly readers: ((result: IteratorResult<T>) => void)[] = [];
  private ended = false;
  private leave: (() => void) | null = null;

  /** The listener: hands `value` to a waiting reader, or keeps it for the next one. */
  readonly push = (value: T): void => {
    if (this.ended) return;
    const reader = this.readers.shift();
    if (reader) reader({ value, done: false });
    else this.queued.push(value);
  };

  /** How to leave the channel, once subscribed (called once, by return or throw). */
  subscribed(leave: () => void): this {
    this.leave = leave;
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queued.length > 0) return Promise.resolve({ value: this.queued.shift() as T, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.readers.push(resolve));
  }

  return(): Promise<IteratorResult<T>> {
    try {
      this.end();
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err: unknown): Promise<IteratorResult<T>> {
    try {
      this.end();
    } catch {
      // Leaving failed; the error the caller threw in is the one it gets back.
    }
    return Promise.reject(err);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Ends the readers waiting, then leaves the channel (which may throw: the readers are done by then). */
  private end() {
    if (this.ended) return;
    this.ended = true;
    this.queued.length = 0;
    for (const reader of this.readers.splice(0)) reader({ value: undefined, done: true });
    const leave = this.leave;
    this.leave = null;
    leave?.();
  }
}
