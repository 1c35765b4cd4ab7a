/**
 * How long a reply's frames are (see Frames): CHAT_FRAME_MS while the api has room, stretched
 * toward CHAT_FRAME_MAX_MS as its event loop fills. Every chatStream event costs the api a Redis
 * write, a GraphQL execution and a WebSocket write per subscriber, so a loaded api sends fewer,
 * larger events: the same text, a reply's first piece still at once, and 6-10 % less CPU per message
 * at 120 ms than at 30 (bench:chat, docs/benchmarks.md). An api with room streams as before.
 *
 * The load is the event loop's utilization since the last reading, taken when a frame is timed and
 * at most every WINDOW_MS, so nothing runs while no reply streams. Under RELAXED it gives the short
 * frame, from BUSY on the long one, and in between a length in proportion.
 */
import { performance } from 'node:perf_hooks';

const WINDOW_MS = 250;
const RELAXED = 0.5;
const BUSY = 0.9;

/** The event loop's time so far, idle and active, in ms (performance.eventLoopUtilization()'s). */
export type LoopTime = () => { idle: number; active: number };

export class FramePace {
  private last: { idle: number; active: number };
  private current: number;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    /** Called with the new length whenever it changes (the dawg_chat_frame_seconds gauge). */
    private readonly onChange: (ms: number) => void = () => {},
    private readonly loopTime: LoopTime = () => performance.eventLoopUtilization(),
  ) {
    this.current = minMs;
    this.last = loopTime();
    onChange(minMs);
  }

  /** The frame length now, in ms. */
  frameMs(): number {
    if (this.maxMs <= this.minMs) return this.minMs;
    const now = this.loopTime();
    const idle = now.idle - this.last.idle;
    const active = now.active - this.last.active;
    if (idle + active < WINDOW_MS) return this.current;
    this.last = now;
    const load = Math.min(1, Math.max(0, (active / (idle + active) - RELAXED) / (BUSY - RELAXED)));
    const next = Math.round(this.minMs + (this.maxMs - this.minMs) * load);
    if (next !== this.current) {
      this.current = next;
      this.onChange(next);
    }
    return next;
  }
}
