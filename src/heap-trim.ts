/**
 * Gives back the heap a burst left behind, once the process has gone quiet. A connection storm
 * (10,000 sockets opening) leaves old space committed at two to three times what is live, and V8
 * keeps it while nothing allocates: the idle api held 478 MiB for 10,000 sockets whose live heap is
 * about 130 MiB (docs/benchmarks.md, "the api's memory with 10,000 sockets").
 *
 * Every second this reads the event loop's utilization. When it has been under
 * QUIET_UTILIZATION (10 %) over the last `idleMs` and over the last second, and V8's heap has grown
 * by `minGrowthBytes` since the last trim (or since start), it runs one full collection that
 * compacts every page. So a busy process is never paused by it, and one whose heap did not shrink is
 * not collected again until it grows again; while trims give back less than a quarter of
 * `minGrowthBytes` (a live heap that grows), the growth needed doubles each time. The collection
 * pauses the loop once (logged as pauseMs; 0.2-0.6 s for 10,000 sockets here), which is why it waits
 * for quiet. A tick later the C library's free memory is given back too (malloc-trim.ts; logged as
 * mallocTrimMs): after a storm, most of the api's memory outside V8's heap. If V8's collector cannot
 * be had, it logs a warning and stops.
 *
 * The collector is V8's own `gc()`, exposed the way jest's leak detector does it when the process
 * was not started with --expose-gc.
 */
import { performance } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from './logger.js';
import { mallocTrim } from './malloc-trim.js';

/** Under this share of the loop busy over the last `idleMs`, the process counts as quiet (10,000 idle sockets: 2-6 %, their keep-alive rounds included). */
const QUIET_UTILIZATION = 0.1;
const TICK_MS = 1000;
const MiB = 1024 * 1024;

export interface HeapTrimOptions {
  /** HEAP_TRIM_IDLE_MS: quiet this long before a trim; 0 turns trimming off. */
  idleMs: number;
  /** HEAP_TRIM_MIN_GROWTH_MB, in bytes: the heap's growth since the last trim that makes one worth it. */
  minGrowthBytes: number;
  log: Logger;
  /** For tests: the length of a tick. */
  tickMs?: number;
}

interface TrimCounts {
  trims: number;
  freedBytes: number;
}

const counts: TrimCounts = { trims: 0, freedBytes: 0 };

/** Trims so far in this process (read by the metrics at scrape time). */
export function heapTrimCounts(): Readonly<TrimCounts> {
  return counts;
}

type Collector = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;
let collector: Collector | undefined;

/**
 * V8 12 (Node 22) and later keep the pages a compaction emptied mapped, and give them back only when
 * a collection is asked to free all it can ("last resort"): after a plain compacting gc(), a probe's
 * RSS stayed at 626 MiB for a 165 MiB heap on Node 22.23 (776 on 24.22), 223 and 234 with the last
 * resort, which runs full collections until one frees nothing more (at least two, so its pause is
 * about twice as long). Node 20 unmaps them a moment later by itself (250); its gc() given an options
 * object runs a young-generation collection only, so there it is called without one.
 */
const LAST_RESORT = Number(process.versions.v8.split('.')[0]) >= 12;

/**
 * V8's growing factor for the trim's collections, as a percentage: the old generation's next limit
 * after a trim is then about twice the live heap (plus the young generation). V8 computes the factor
 * from how fast it collects against how fast the program allocates, and for a quiet process it came
 * out at its floor, 1.1: the first seconds of load after a quiet spell then ran full collections that
 * an untrimmed api did not (docs/benchmarks.md, "The heap trim leaves the heap room to grow"). The
 * limit is a threshold, not memory held, so the idle RSS stays given back. The flag is the whole
 * process's: it is set for the trim's collections only, and reset to 0 (V8's own factor) after them,
 * which also resets an operator's own --heap-growing-percent.
 */
const TRIM_GROWING_PERCENT = 100;

/**
 * One full collection that compacts every fragmented page. V8's own full collections move only the
 * emptiest pages, so after a storm whose survivors are spread over every page they give back little
 * (227-260 MiB of heap left at 10,000 sockets, against 134-165 with this).
 */
export function compactingGc(): void {
  withV8Flag(`--heap-growing-percent=${TRIM_GROWING_PERCENT}`, '--heap-growing-percent=0', () => {
    withV8Flag('--compact-on-every-full-gc', '--no-compact-on-every-full-gc', freeingCollection);
    settlingCollection();
  });
}

/** Runs `run` with a V8 flag set, and sets it back (`off`) however `run` ends. */
function withV8Flag(on: string, off: string, run: () => void): void {
  setFlagsFromString(on);
  try {
    run();
  } finally {
    setFlagsFromString(off);
  }
}

/**
 * A full collection without compactingGc's flag: what a thread that waits for work needs to free
 * what its last task left (the buffers it no longer holds), where that process-wide flag, set and unset
 * around each collection, would race with other threads' (worker/engine-pool/pool.ts). Only
 * `--expose-gc` is set, once, when the process was not started with it.
 */
export function fullGc(): void {
  freeingCollection();
  settlingCollection();
}

/** A full collection that frees all it can: the last resort where V8 keeps emptied pages otherwise (LAST_RESORT). */
function freeingCollection(): void {
  collector ??= exposedCollector();
  if (LAST_RESORT) collector({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  else collector();
}

/**
 * After the last resort the first burst was slow: on Node 24 the unshared fan-out's first event after a
 * trim had a p99 of 185.5 and 246.2 ms (the other events 78.5 and 143.7). One plain full collection
 * after it, which sizes the heap's next limit as usual rather than for the least memory (a probe's burst
 * then ran no full collection, against one), gave 72.7 and 68.2 ms, RSS unchanged.
 */
function settlingCollection(): void {
  if (LAST_RESORT) collector?.();
}

/** V8's gc(), exposed the way jest's leak detector does it when the process was not started with --expose-gc. */
function exposedCollector(): Collector {
  const exposed = (globalThis as { gc?: Collector }).gc;
  if (!exposed) setFlagsFromString('--expose-gc');
  return exposed ?? (runInNewContext('gc') as Collector);
}

/** Starts watching; returns the function that stops it. */
export function startHeapTrim(options: HeapTrimOptions): () => void {
  if (options.idleMs <= 0) return () => {};
  const tickMs = options.tickMs ?? TICK_MS;
  const window = Math.max(1, Math.round(options.idleMs / tickMs));
  let floor = getHeapStatistics().total_heap_size;
  // Growth that makes a trim worth it; doubled while trims give back little (a live heap that grows).
  let needed = options.minGrowthBytes;
  // The loop's utilization at each of the last window + 1 ticks: the oldest is `idleMs` ago.
  let marks = [performance.eventLoopUtilization()];
  let settling: NodeJS.Timeout | undefined;

  const trim = () => {
    const before = getHeapStatistics().total_heap_size;
    const started = performance.now();
    compactingGc();
    const pauseMs = Math.round(performance.now() - started);
    // The emptied pages are unmapped by a background task, and the native memory the collected
    // objects held is freed after the collection: read the heap and trim the C library's a tick later.
    settling = setTimeout(() => {
      settling = undefined;
      const trimStarted = performance.now();
      const released = mallocTrim();
      const mallocTrimMs = Math.round(performance.now() - trimStarted);
      const after = getHeapStatistics().total_heap_size;
      const freed = Math.max(0, before - after);
      floor = after;
      needed = freed < options.minGrowthBytes / 4 ? needed * 2 : options.minGrowthBytes;
      marks = [performance.eventLoopUtilization()];
      counts.trims++;
      counts.freedBytes += freed;
      options.log.info(
        {
          heapBeforeMiB: Math.round(before / MiB),
          heapAfterMiB: Math.round(after / MiB),
          rssMiB: Math.round(process.memoryUsage.rss() / MiB),
          pauseMs,
          mallocTrim: released === null ? 'unavailable' : released ? 'released' : 'nothing to release',
          mallocTrimMs,
        },
        'heap trimmed after a quiet spell',
      );
    }, tickMs);
    settling.unref();
  };

  const tick = () => {
    const now = performance.eventLoopUtilization();
    marks.push(now);
    if (marks.length > window + 1) marks.shift();
    if (settling || marks.length <= window) return;
    if (performance.eventLoopUtilization(now, marks[0]).utilization >= QUIET_UTILIZATION) return;
    // Quiet now too: a burst's first moments after a long quiet spell still average under the
    // threshold over the window, and a trim then would pause the burst.
    if (performance.eventLoopUtilization(now, marks.at(-2)).utilization >= QUIET_UTILIZATION) return;
    if (getHeapStatistics().total_heap_size < floor + needed) return;
    try {
      trim();
    } catch (err) {
      // A Node without V8's gc() or its flags: the api runs on untrimmed, as it would with HEAP_TRIM_IDLE_MS=0.
      options.log.warn({ err }, 'heap trim unavailable; not trying again');
      stop();
    }
  };
  const timer = setInterval(tick, tickMs);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    if (settling) clearTimeout(settling);
  };
  return stop;
}
