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
 *
 * A result is prepared once for all subscribers (`FanOut.prepare`: serialized) and handed to
 * each subscriber's target (`FanOut.deliver`: written to its socket) as it arrives. What a
 * subscriber gets back is its `Subscription`: it yields nothing itself, only ends when the stream
 * ends or throws when it fails, and leaves the stream when returned. So the transport's own
 * per-operation handling (complete and error messages, release on close) stays as it is for any
 * stream, while no per-subscriber iteration or serialization runs per result.
 */

type Result = unknown;

/** How a shared stream's results reach its subscribers. */
export interface FanOut<Target, Prepared> {
  /** Runs once per result, for all subscribers (may throw: the stream then fails for all). */
  prepare(result: Result): Prepared;
  /** Runs per subscriber and result, in the order the results came (may throw: that subscriber fails). */
  deliver(target: Target, prepared: Prepared): void;
}

/**
 * How a first subscriber's setup ended: `shared` (a stream runs for the key: join it), `unshareable`
 * (the operation has a per-subscriber head: each runs its own), `failed` (an error, a refusal: the
 * next waiter tries as a first subscriber itself).
 */
export type FirstOutcome = 'shared' | 'unshareable' | 'failed';

const DONE: IteratorResult<never> = Object.freeze({ value: undefined, done: true });

/**
 * One subscriber of a shared stream, as its transport holds it: `next()` settles when the stream
 * ends (done) or fails (rejects), `return()` leaves the stream. Results go to `target` directly.
 */
export class Subscription<Target> implements AsyncIterableIterator<never> {
  private settle: ((r: IteratorResult<never>) => void) | null = null;
  private reject: ((err: unknown) => void) | null = null;
  private settled: Promise<IteratorResult<never>> | null = null;
  private done = false;
  private error: unknown = null;

  constructor(
    readonly target: Target,
    private readonly stream: { detach(subscription: Subscription<Target>): void },
  ) {}

  /** The stream ended: the transport completes the operation. */
  end() {
    this.done = true;
    this.settle?.(DONE);
  }

  /** The stream (or this subscriber's delivery) failed: the transport sends the error. */
  fail(err: unknown) {
    if (this.done) return;
    this.error = err;
    this.done = true;
    this.reject?.(err);
  }

  next(): Promise<IteratorResult<never>> {
    if (this.error) return Promise.reject(this.error);
    if (this.done) return Promise.resolve(DONE);
    // One promise however often it is asked: graphql-ws asks once and waits for the end.
    this.settled ??= new Promise((resolve, reject) => {
      this.settle = resolve;
      this.reject = reject;
    });
    return this.settled;
  }

  return(): Promise<IteratorResult<never>> {
    if (!this.done) {
      this.done = true;
      this.stream.detach(this);
    }
    this.settle?.(DONE);
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

class Multicast<Target, Prepared> {
  private readonly subscribers = new Set<Subscription<Target>>();
  private pumping = false;
  /** The source has ended or failed: nobody may attach any more. */
  ended = false;

  constructor(
    private readonly source: AsyncIterator<Result>,
    private readonly fanOut: FanOut<Target, Prepared>,
    private readonly onEmpty: () => void,
    /** Ends the source's underlying subscription directly (a wrapper may not pass return() on). */
    private readonly release: () => Promise<unknown>,
  ) {}

  attach(target: Target): Subscription<Target> {
    const subscription = new Subscription(target, this);
    if (this.ended) {
      // Too late to share: this subscriber completes rather than waiting forever.
      subscription.end();
      return subscription;
    }
    this.subscribers.add(subscription);
    if (!this.pumping) void this.pump();
    return subscription;
  }

  /** `subscription` leaves; the last one out closes the source. */
  detach(subscription: Subscription<Target>) {
    this.subscribers.delete(subscription);
    if (this.subscribers.size === 0 && !this.ended) this.close();
  }

  /** Nobody listens any more (or nobody can be served): ends the source and its subscription. */
  private close() {
    this.ended = true;
    this.onEmpty();
    // Either may fail while Redis is closing (server stop): nothing is left to release then.
    Promise.resolve(this.source.return?.()).catch(() => {});
    this.release().catch(() => {});
  }

  private async pump() {
    this.pumping = true;
    try {
      for (;;) {
        const { value, done } = await this.source.next();
        if (done) break;
        this.publish(value);
      }
      this.finish();
      for (const s of this.subscribers) s.end();
    } catch (err) {
      this.finish();
      for (const s of this.subscribers) s.fail(err);
    }
  }

  /** Prepares `value` once and delivers it to every subscriber (one that cannot be served fails alone). */
  private publish(value: Result) {
    let prepared: Prepared;
    try {
      prepared = this.fanOut.prepare(value);
    } catch (err) {
      // No subscriber can be served this result: the stream fails for all, as it would for each.
      if (!this.ended) this.close();
      throw err;
    }
    for (const s of this.subscribers) {
      try {
        this.fanOut.deliver(s.target, prepared);
      } catch (err) {
        s.fail(err);
        this.detach(s);
      }
    }
  }

  private finish() {
    this.ended = true;
    this.onEmpty();
  }
}

export class SharedSubscriptions<Target, Prepared> {
  private readonly streams = new Map<string, Multicast<Target, Prepared>>();
  /** Keys whose first subscriber is setting up its stream: resolves to how that ended. */
  private readonly firsts = new Map<string, Promise<FirstOutcome>>();

  /** `onSize` hears the number of distinct streams whenever it changes (for a gauge). */
  constructor(
    private readonly fanOut: FanOut<Target, Prepared>,
    private readonly onSize: (size: number) => void = () => {},
  ) {}

  /** Forgets `key` if it still maps to `multicast` (a newer stream may have replaced it). */
  private forget(key: string, multicast: Multicast<Target, Prepared>) {
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

  /** `target` as a new subscriber of the stream running for `key`, or null when none runs any more. */
  attach(key: string, target: Target): Subscription<Target> | null {
    const multicast = this.streams.get(key);
    return multicast && !multicast.ended ? multicast.attach(target) : null;
  }

  /**
   * Shares `source` under `key` with `target` as its first subscriber, or returns null when a
   * stream already runs for `key` (two first subscribers raced: the caller serves `source` itself).
   */
  share(
    key: string,
    source: AsyncIterable<Result>,
    target: Target,
    release: () => Promise<unknown> = () => Promise.resolve(),
  ): Subscription<Target> | null {
    if (this.has(key)) return null;
    const multicast: Multicast<Target, Prepared> = new Multicast(
      source[Symbol.asyncIterator](),
      this.fanOut,
      () => this.forget(key, multicast),
      release,
    );
    this.streams.set(key, multicast);
    this.onSize(this.streams.size);
    return multicast.attach(target);
  }
}
