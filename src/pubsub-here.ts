/**
 * Events this process publishes, delivered to its own listeners at once, ahead of their copy from
 * Redis. A chat chunk is stored and published by one Redis call sent at the end of its turn of the
 * event loop, and its copy comes back over the subscriber connection: under a burst of messages that
 * round trip waits behind the other requests' work twice. Delivered here, a reply's chunk reaches the
 * subscribers on the process streaming it as it is made (docs/benchmarks.md, "chat chunks delivered
 * where they are made"). Other processes' subscribers get the copy from Redis, as before.
 *
 * Each listener gets each event once, in order:
 * - the listeners on the channel when an event is delivered here get it now, and their copy from
 *   Redis is dropped;
 * - a listener that joins after that (or is still subscribing) gets the copy from Redis, and every
 *   later event of the channel through Redis too until the copies of the events delivered ahead have
 *   all come back: a later event delivered here would overtake them.
 * A copy that never comes (the event was not published, or the subscriber connection was cut) is
 * forgotten when its publisher says so, or after MAX_WAIT_MS.
 */

/** The listeners subscribed on a channel now, and how to hand one an event. */
export interface Listeners {
  ids(channel: string): Iterable<number>;
  send(id: number, event: unknown): void;
}

interface Ahead {
  data: string;
  /** The listeners that had it here. */
  had: Set<number>;
  at: number;
}

/** Longer than a chunk's store retries (30 s): its copy can come that late. */
const MAX_WAIT_MS = 60_000;
const SWEEP_MS = 10_000;

export class DeliveredHere {
  /** Per channel, the events delivered here whose copy from Redis has not come yet, in order. */
  private readonly ahead = new Map<string, Ahead[]>();
  private swept: number;

  constructor(
    private readonly listeners: Listeners,
    /** The event as a listener receives it from Redis (the same parse). */
    private readonly parse: (data: string) => unknown,
    private readonly now: () => number = Date.now,
  ) {
    this.swept = now();
  }

  /**
   * Delivers `data` (about to be published on `channel`) to this process's listeners now. Returns a
   * function to call if it will not be published after all: its copy is then not waited for.
   */
  deliver(channel: string, data: string): () => void {
    this.sweep();
    const waiting = this.ahead.get(channel);
    const last = waiting?.at(-1);
    const had = new Set<number>();
    for (const id of this.listeners.ids(channel)) if (!last || last.had.has(id)) had.add(id);
    if (!had.size) return noop;
    const entry: Ahead = { data, had, at: this.now() };
    if (waiting) waiting.push(entry);
    else this.ahead.set(channel, [entry]);
    this.send(data, had);
    return () => this.forget(channel, entry);
  }

  /**
   * A message from Redis: an event delivered here goes to the listeners that did not have it, and
   * any other message to all of them (`toAll`, the library's own delivery).
   */
  arrived(channel: string, data: string, toAll: () => void): void {
    const waiting = this.ahead.get(channel);
    const entry = waiting?.find((e) => e.data === data);
    if (!entry) {
      toAll();
      return;
    }
    this.forget(channel, entry);
    const rest: number[] = [];
    for (const id of this.listeners.ids(channel)) if (!entry.had.has(id)) rest.push(id);
    if (rest.length) this.send(data, rest);
  }

  /** Events waiting for their copy (for tests). */
  waiting(): number {
    let n = 0;
    for (const w of this.ahead.values()) n += w.length;
    return n;
  }

  private send(data: string, ids: Iterable<number>): void {
    const event = this.parse(data);
    for (const id of ids) this.listeners.send(id, event);
  }

  private forget(channel: string, entry: Ahead): void {
    const waiting = this.ahead.get(channel);
    const i = waiting ? waiting.indexOf(entry) : -1;
    if (!waiting || i < 0) return;
    waiting.splice(i, 1);
    if (!waiting.length) this.ahead.delete(channel);
  }

  /** Drops, at most every SWEEP_MS, the events whose copy has been awaited longer than MAX_WAIT_MS. */
  private sweep(): void {
    const now = this.now();
    if (now - this.swept < SWEEP_MS) return;
    this.swept = now;
    for (const [channel, waiting] of this.ahead) {
      const kept = waiting.filter((e) => now - e.at < MAX_WAIT_MS);
      if (!kept.length) this.ahead.delete(channel);
      else if (kept.length < waiting.length) this.ahead.set(channel, kept);
    }
  }
}

function noop(): void {}
