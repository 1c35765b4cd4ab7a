/**
 * Subscription deduplication: sockets that subscribe with the same document,
 * variables and viewer get the same results, so the subscription is executed
 * once and each result fanned out to all of them (Apollo Router does the same
 * by default). Only plain live feeds are shared (graphql/live-subscription.ts
 * marks them): a stream with a per-subscriber head (current state, replay) is
 * executed per subscriber, so a late joiner never misses its head. Every joiner
 * runs its own argument and access checks first (transport/graphql-ws.ts). When
 * the last one leaves, the source is closed; once the source has ended, the key
 * is free and a new subscriber starts its own. Identical subscriptions that arrive while the
 * first one is still being set up wait for it (`starting`), so a burst (many tabs reconnecting
 * after a deploy) executes once too.
 */

type Result = unknown;

/**
 * How a first subscriber's setup ended: `shared` (a stream runs for the key: join it), `unshareable`
 * (the operation has a per-subscriber head: each runs its own), `failed` (an error, a refusal: the
 * next waiter tries as a first subscriber itself).
 */
export type FirstOutcome = 'shared' | 'unshareable' | 'failed';

class Multicast {
  private readonly sinks = new Set<Sink>();
  private pumping = false;
  /** The source has ended or failed: nobody may attach any more. */
  ended = false;

  constructor(
    private readonly source: AsyncIterator<Result>,
    private readonly onEmpty: () => void,
    /** Ends the source's underlying subscription directly (a wrapper may not pass return() on). */
    private readonly release: () => Promise<unknown>,
  ) {}

  attach(): AsyncIterableIterator<Result> {
    const sink = new Sink(() => this.detach(sink));
    if (this.ended) {
      // Too late to share: this subscriber completes rather than waiting forever.
      sink.end();
      return sink;
    }
    this.sinks.add(sink);
    if (!this.pumping) void this.pump();
    return sink;
  }

  private detach(sink: Sink) {
    this.sinks.delete(sink);
    if (this.sinks.size === 0 && !this.ended) {
      this.ended = true;
      this.onEmpty();
      // Either may fail while Redis is closing (server stop): nothing is left to release then.
      Promise.resolve(this.source.return?.()).catch(() => {});
      this.release().catch(() => {});
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
      this.finish();
      for (const sink of this.sinks) sink.end();
    } catch (err) {
      this.finish();
      for (const sink of this.sinks) sink.fail(err);
    }
  }

  private finish() {
    this.ended = true;
    this.onEmpty();
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

export class SharedSubscriptions {
  private readonly streams = new Map<string, Multicast>();
  /** Keys whose first subscriber is setting up its stream: resolves to how that ended. */
  private readonly firsts = new Map<string, Promise<FirstOutcome>>();

  /** `onSize` hears the number of distinct streams whenever it changes (for a gauge). */
  constructor(private readonly onSize: (size: number) => void = () => {}) {}

  /** Forgets `key` if it still maps to `multicast` (a newer stream may have replaced it). */
  private forget(key: string, multicast: Multicast) {
    if (this.streams.get(key) === multicast && this.streams.delete(key)) this.onSize(this.streams.size);
  }

  /** Number of distinct subscriptions currently executed (for metrics and tests). */
  get size(): number {
    return this.streams.size;
  }

  /** Whether a live stream runs for `key` (a joiner then runs its checks only, then attaches). */
  has(key: string): boolean {
    return this.streams.get(key)?.ended === false;
  }

  /**
   * While the first subscriber of `key` sets up its stream, a promise of how that ended: identical
   * subscriptions arriving together wait for it and join, rather than each executing.
   */
  starting(key: string): Promise<FirstOutcome> | undefined {
    return this.firsts.get(key);
  }

  /** Marks the caller as `key`'s first subscriber; call the result with how its setup ended. */
  begin(key: string): (outcome: FirstOutcome) => void {
    let settle: (outcome: FirstOutcome) => void = () => {};
    const first = new Promise<FirstOutcome>((resolve) => {
      settle = resolve;
    });
    this.firsts.set(key, first);
    return (outcome) => {
      if (this.firsts.get(key) === first) this.firsts.delete(key);
      settle(outcome);
    };
  }

  /** A new subscriber on the stream running for `key`, or null when none runs any more. */
  attach(key: string): AsyncIterableIterator<Result> | null {
    const multicast = this.streams.get(key);
    return multicast && !multicast.ended ? multicast.attach() : null;
  }

  /**
   * Shares `source` under `key` and returns the caller's subscriber on it. When a stream already
   * runs for `key` (two first subscribers raced), `source` is returned unshared.
   */
  share(
    key: string,
    source: AsyncIterable<Result>,
    release: () => Promise<unknown> = () => Promise.resolve(),
  ): AsyncIterableIterator<Result> {
    if (this.has(key)) return source as AsyncIterableIterator<Result>;
    const multicast: Multicast = new Multicast(source[Symbol.asyncIterator](), () => this.forget(key, multicast), release);
    this.streams.set(key, multicast);
    this.onSize(this.streams.size);
    return multicast.attach();
  }
}
