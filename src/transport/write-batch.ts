/**
 * Socket writes made together: a write waits for the microtasks queued before it (queueMicrotask).
 *
 * One event fanned out to many viewers runs each viewer's execution as a chain of promise steps, and
 * the microtask queue interleaves the chains step by step: written as each chain ended, the socket
 * writes were spread through the event's JavaScript. The other chains' last steps are already queued
 * when the first one writes, so its flush runs after them, and the writes are made back to back (up
 * to `max` at a time), as a bare `ws` relay makes them: they cost the api less CPU per delivery
 * (docs/benchmarks.md, "writes made together"). The flush never waits for other I/O: a chat chunk
 * goes out in the same turn of the event loop as before.
 *
 * Writes keep their order: one queue for every socket, written first in, first out. A socket
 * about to be closed has the queue written first (`flush`), so a message sent before a close still
 * goes out before the close frame.
 */
export class WriteBatch<Target, Data = string | Buffer> {
  private readonly targets: Target[] = [];
  private readonly data: Data[] = [];
  private flushing = false;

  /**
   * `write` makes one write now (it may close its target: the queue then goes on with the next); a
   * write that throws is handed to `failed`, and the others are still made.
   */
  constructor(
    private readonly write: (target: Target, data: Data) => void,
    private readonly failed: (err: unknown) => void,
    /**
     * Writes held at most: the one that reaches it writes them all at once, so a shared stream's
     * fan-out to 10,000 sockets (or a burst of its events) holds no more than this many frames.
     */
    private readonly max = 512,
  ) {}

  /** Queues `data` for `target`, written once the microtasks queued before the first queued write have run. */
  add(target: Target, data: Data) {
    this.targets.push(target);
    this.data.push(data);
    if (this.targets.length >= this.max && !this.flushing) return this.flush();
    // The first write queued schedules the flush; the others join it (during a flush, the queue is
    // not empty and a new write is made by that flush's loop).
    if (this.targets.length === 1) queueMicrotask(this.flush);
  }

  /** Writes everything queued now, in order (a call from inside a write returns at once). */
  readonly flush = () => {
    if (this.flushing) return;
    this.flushing = true;
    try {
      // Indexes, not a copy: a write that queues another is written in this same flush, after it.
      for (let i = 0; i < this.targets.length; i++) {
        try {
          this.write(this.targets[i] as Target, this.data[i] as Data);
        } catch (err) {
          this.failed(err);
        }
      }
    } finally {
      this.targets.length = 0;
      this.data.length = 0;
      this.flushing = false;
    }
  };
}
