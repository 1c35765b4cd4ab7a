/**
 * Subscription deduplication: sockets that subscribe with the same document,
 * variables and viewer get the same results, so the subscription is executed
 * once and each result fanned out to all of them (Apollo Router does the same
 * by default). The first subscriber's subscribe runs every check (auth,
 * ownership); the others share a stream that check already admitted. When the
 * last one leaves, the source is closed.
 */

type Result = unknown;

class Multicast {
  private readonly sinks = new Set<Sink>();
  private pumping = false;

  constructor(
    private readonly source: AsyncIterator<Result>,
    private readonly onEmpty: () => void,
  ) {}

  attach(): AsyncIterableIterator<Result> {
    const sink = new Sink(() => this.detach(sink));
    this.sinks.add(sink);
    if (!this.pumping) void this.pump();
    return sink;
  }

  private detach(sink: Sink) {
    this.sinks.delete(sink);
    if (this.sinks.size === 0) {
      this.onEmpty();
      void this.source.return?.();
    }
  }

  private async pump() {
    this.pumping = true;
    try {
      for (;;) {
        const { value, done } = await this.source.next();
        if (done) break;
        for (const sink of this.sinks) sink.push(value);
      }
      for (const sink of this.sinks) sink.end();
    } catch (err) {
      for (const sink of this.sinks) sink.fail(err);
    } finally {
      this.onEmpty();
    }
  }
}

class Sink implements AsyncIterableIterator<Result> {
  private readonly queue: Result[] = [];
  private waiting: ((r: IteratorResult<Result>) => void) | null = null;
  private failWaiting: ((err: unknown) => void) | null = null;
  private done = false;
  private error: unknown = null;

  constructor(private readonly leave: () => void) {}

  push(value: Result) {
    if (this.done) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = null;
      resolve({ value, done: false });
    } else {
      this.queue.push(value);
    }
  }

  end() {
    this.done = true;
    this.waiting?.({ value: undefined, done: true });
    this.waiting = this.failWaiting = null;
  }

  fail(err: unknown) {
    this.error = err;
    this.done = true;
    this.failWaiting?.(err);
    this.waiting = this.failWaiting = null;
  }

  next(): Promise<IteratorResult<Result>> {
    if (this.queue.length) return Promise.resolve({ value: this.queue.shift(), done: false });
    if (this.error) return Promise.reject(this.error);
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<Result>> {
    if (!this.done) {
      this.done = true;
      this.queue.length = 0;
      this.leave();
    }
    this.waiting?.({ value: undefined, done: true });
    this.waiting = this.failWaiting = null;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Result> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

export class SharedSubscriptions {
  private readonly streams = new Map<string, Promise<Multicast | null>>();

  /** `onSize` hears the number of distinct streams whenever it changes (for a gauge). */
  constructor(private readonly onSize: (size: number) => void = () => {}) {}

  private set(key: string, pending: Promise<Multicast | null>) {
    this.streams.set(key, pending);
    this.onSize(this.streams.size);
  }

  /** Forgets `key` if it still maps to `pending` (a newer stream may have replaced it). */
  private forget(key: string, pending: Promise<Multicast | null> | undefined) {
    if (this.streams.get(key) === pending && this.streams.delete(key)) this.onSize(this.streams.size);
  }

  /** Number of distinct subscriptions currently executed (for metrics and tests). */
  get size(): number {
    return this.streams.size;
  }

  /**
   * Returns a stream for `key`, starting the source with `start()` if none runs.
   * A start that does not yield a stream (an error result) is returned as is and not shared.
   */
  async subscribe(key: string, start: () => Promise<unknown>): Promise<unknown> {
    let pending = this.streams.get(key);
    let started: unknown;
    if (!pending) {
      pending = start().then((result) => {
        started = result;
        if (!isAsyncIterable(result)) return null;
        return new Multicast(result[Symbol.asyncIterator](), () => this.forget(key, pending));
      });
      this.set(key, pending);
      pending.then(
        (m) => m === null && this.forget(key, pending),
        () => this.forget(key, pending),
      );
      const multicast = await pending;
      return multicast ? multicast.attach() : started;
    }
    const multicast = await pending;
    // The shared start failed (e.g. NOT_FOUND): run our own, so we get our own error.
    return multicast ? multicast.attach() : start();
  }
}
