/**
 * Periodic work over many members (every open socket; presence's entries), spread across its period. A member is put in one of the
 * period's slices when it joins (in turn, so they stay even), and one slice comes up every SLICE_MS or
 * so: each member is visited once per period, as with one setInterval, but a visit handles a slice's
 * members, not all of them at once, so no round over thousands of sockets holds the event loop while
 * deliveries wait behind it.
 */

/** About how often a slice comes up: the period is cut into period / SLICE_MS slices (at least one). */
export const SLICE_MS = 100;

export class Rounds<T> {
  private readonly slices: Set<T>[];
  private readonly sliceOf = new Map<T, number>();
  /** Slices whose last visit (an async one) has not settled: skipped when they come up again. */
  private readonly busy: boolean[];
  private joinAt = 0;
  private turn = 0;
  private readonly timer: NodeJS.Timeout;

  /**
   * `visit` gets a slice's members (a live view: read it before any await). When it returns a promise,
   * that slice is not visited again until it settles; a rejection is `visit`'s to handle.
   */
  constructor(
    periodMs: number,
    private readonly visit: (members: ReadonlySet<T>) => Promise<unknown> | undefined,
    sliceMs = SLICE_MS,
  ) {
    const count = Math.max(1, Math.round(periodMs / sliceMs));
    this.slices = Array.from({ length: count }, () => new Set<T>());
    this.busy = Array.from({ length: count }, () => false);
    this.timer = setInterval(() => this.tick(), periodMs / count);
    this.timer.unref();
  }

  add(member: T): void {
    if (this.sliceOf.has(member)) return;
    const slice = this.joinAt;
    this.joinAt = (slice + 1) % this.slices.length;
    this.slices[slice]?.add(member);
    this.sliceOf.set(member, slice);
  }

  delete(member: T): void {
    const slice = this.sliceOf.get(member);
    if (slice === undefined) return;
    this.slices[slice]?.delete(member);
    this.sliceOf.delete(member);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick() {
    const slice = this.turn;
    this.turn = (slice + 1) % this.slices.length;
    const members = this.slices[slice];
    if (!members?.size || this.busy[slice]) return;
    const visiting = this.visit(members);
    if (!visiting) return;
    this.busy[slice] = true;
    const settle = () => {
      this.busy[slice] = false;
    };
    visiting.then(settle, settle);
  }
}
