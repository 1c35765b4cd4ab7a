/**
 * The engine's threads: the audio engine is CPU-bound, so its tasks (engine/tasks.ts) run on a pool of
 * worker threads (piscina), one per core by default (WORKER_THREADS). The main thread keeps the job's
 * I/O (database, storage, progress) and BullMQ's lock renewal, which a render can then never starve.
 *
 * A task's stages come back as they happen and are reported in order; when a report fails (the
 * generation was cancelled, the database is away) the task is aborted, its thread ended (piscina
 * starts another), and the report's error is what the job sees.
 *
 * A task that finds another thread idle has it help (`aside`), and the bytes are the same either way:
 * - a beat's chords (SPLIT_PART, the costliest part) render there while the beat's own thread renders
 *   the other parts, and are handed over (moved, not copied) when the mix reaches them;
 * - a beat's or a master's MP3 is encoded in two halves (engine/mp3-halves.ts): the tail there, the
 *   head on the task's own thread.
 * When the pool is busy a task keeps to one thread, so throughput is what it was; and when a helper
 * has not begun by the time its result is needed, the task's thread does the work and the helper skips
 * it, so a task never waits on the queue. A task that fails or is cancelled lets a helper already
 * working finish (one part's or half an MP3's time), rather than end its thread.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Failure } from '../../src/failures.js';
import { fullGc } from '../../src/heap-trim.js';
import type { Logger } from '../../src/logger.js';
import { mallocTrim } from '../../src/malloc-trim.js';
import type { Stereo } from '../engine/dsp.js';
import type { PartName } from '../engine/index.js';
import type { BeatFiles, BeatInput, MasteredFiles, TaskStage } from '../engine/tasks.js';
import {
  type EngineTask,
  type HelperTask,
  type PoolShared,
  type ThreadEvent,
  type ThreadOutcome,
  buffersOf,
  giveUp,
  newClaim,
  ownBuffer,
} from './protocol.js';

/** The thread's module: compiled JavaScript in dist/, TypeScript under tsx (dev and tests). */
const THREAD = new URL(`./thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

export const defaultThreads = () => availableParallelism();

interface Listeners {
  onStage?: (stage: TaskStage) => Promise<void> | void;
  onStem?: (part: PartName, wav: Uint8Array) => Promise<void>;
  /** A part from elsewhere: its samples, or null for the thread to render it itself. */
  onNeed?: (part: PartName) => Promise<Stereo | null>;
  /** An MP3's tail offered to be encoded elsewhere, then needed (a helper began it): its frames, or null for the thread to encode it. */
  onOfferTail?: (left: Float32Array, right: Float32Array, claim: Int32Array) => void;
  onNeedTail?: () => Promise<Uint8Array | null>;
}

/** The part a second thread renders for a beat: the one that takes longest (about a third of the parts' time). */
const SPLIT_PART: PartName = 'chords';
/**
 * The longest beat that splits. A split beat's thread holds one stem more while it waits (0.35 MiB a
 * second of audio): up to 42 MiB here, so a job stays well within its 450 MiB (docs/operations.md);
 * a longer beat keeps to one thread and to the memory measured for it.
 */
const SPLIT_MAX_SEC = 120;

const MiB = 1024 * 1024;
/** How long after the main thread's collection glibc is trimmed: V8 frees the collected buffers in the background. */
const RELEASE_SETTLE_MS = 200;

export class EnginePool {
  private readonly pool: Piscina;
  /** Tasks handed to the pool and not yet done (running or queued). */
  private pending = 0;
  /** Shared with the threads: how many are idle (threads − pending, at least 0). */
  private readonly shared: PoolShared = { idle: new Int32Array(new SharedArrayBuffer(4)) };
  /** Helper tasks whose result was used, by kind: how often a task had another thread's help. */
  readonly helped = { part: 0, tail: 0 };
  /** Times the pool gave back its tasks' memory (after the warm-up, and after each quiet spell). */
  releases = 0;
  /** The process's RSS those releases took off, in bytes (each release's fall, if it fell). */
  releasedBytes = 0;
  private readonly releaseIdleMs: number;
  private readonly log: Logger | undefined;
  /** Pending while no task is: the release once the pool has been quiet for `releaseIdleMs`. */
  private quiet: NodeJS.Timeout | undefined;
  /** Whether a job's task has run since the last release (a release with nothing to give back is not scheduled). */
  private worked = false;
  private closed = false;

  /**
   * `releaseIdleMs`: once no task has run for this long, the pool gives back the memory the last ones
   * left (`release`); 0 (the default, for scripts and tests): only after the warm-up. `log`: where each
   * release is told (info) or its failure (warn).
   */
  constructor(
    readonly threads: number = defaultThreads(),
    { releaseIdleMs = 0, log }: { releaseIdleMs?: number; log?: Logger } = {},
  ) {
    this.releaseIdleMs = releaseIdleMs;
    this.log = log;
    this.pool = new Piscina({
      filename: THREAD.href,
      minThreads: threads,
      maxThreads: threads,
      // Queued tasks wait for a free thread; each holds only its input meanwhile.
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Under tsx the thread needs its loader too (a compiled dist/ thread does not).
      execArgv: THREAD.pathname.endsWith('.ts') ? withTsx(process.execArgv) : process.execArgv,
      workerData: this.shared,
    });
    this.count(0);
  }

  /**
   * Loads the engine and its MP3 encoder in every thread and runs a short beat of every genre through
   * every stage, so no job pays for it; then gives back what that left.
   */
  async warm(): Promise<void> {
    await this.everyThread('warm');
    await this.release();
  }

  /**
   * Gives back the memory finished tasks left, while no task runs. A thread waiting for a task runs no
   * collection (piscina blocks it), so their buffers and LAME's memories stayed resident until its next
   * task, and the files they sent here until this thread's next collection (docs/benchmarks.md, "The
   * engine's garbage given back"). Each thread runs a full collection, then this one; then, once V8 has
   * freed the collected buffers, glibc's free memory goes back to the system (malloc-trim.ts; it walks
   * every thread's heap), unless a task came meanwhile. The next tasks take their memory afresh. A
   * failure is logged and changes nothing else: the memory stays, as before.
   */
  private async release(): Promise<void> {
    if (this.closed || this.pending > 0) return;
    this.worked = false;
    const rssBefore = process.memoryUsage.rss();
    const started = performance.now();
    try {
      await this.everyThread('release');
      fullGc();
      await new Promise((resolve) => setTimeout(resolve, RELEASE_SETTLE_MS));
      // A task that came meanwhile is rendering: the trim, which locks each heap in turn, waits for the next quiet.
      if (this.closed || this.pending > 0) return;
      const trimmed = mallocTrim();
      const rssAfter = process.memoryUsage.rss();
      this.releases++;
      this.releasedBytes += Math.max(0, rssBefore - rssAfter);
      this.log?.info(
        {
          rssBeforeMiB: Math.round(rssBefore / MiB),
          rssAfterMiB: Math.round(rssAfter / MiB),
          ms: Math.round(performance.now() - started),
          mallocTrim: trimmed === null ? 'unavailable' : trimmed ? 'released' : 'nothing to release',
        },
        "engine's memory given back",
      );
    } catch (err) {
      if (!this.closed)
        this.log?.warn({ err: err instanceof Error ? err.message : String(err) }, "engine's memory not given back");
    }
  }

  /** One task on each thread: queued while every thread is idle, each goes to a thread of its own. */
  private everyThread<T>(task: 'warm' | 'release'): Promise<T[]> {
    return Promise.all(Array.from({ length: this.threads }, () => this.run<T>({ task }, {})));
  }

  beat(input: BeatInput, onStage: (stage: TaskStage) => Promise<void> | void): Promise<BeatFiles> {
    const alone = () => this.withTailAside<BeatFiles>({ task: 'beat', input }, { onStage });
    if (this.pending + 2 > this.threads || input.durationSec > SPLIT_MAX_SEC) return alone();
    const claim = newClaim();
    const part = this.aside<Stereo>({ task: 'part', input, part: SPLIT_PART, claim });
    if (!part) return alone();
    // Needed: the chords if the helper has begun them, else rendered by the beat's thread and skipped by the helper.
    const onNeed = async () => (giveUp(claim) ? null : this.used('part', await part));
    return this.withTailAside<BeatFiles>({ task: 'beat', input, elsewhere: SPLIT_PART }, { onStage, onNeed }).finally(() =>
      giveUp(claim),
    );
  }

  /** Each stem goes to `onStem` one at a time; the thread renders the next once `onStem` resolves. */
  stems(
    input: BeatInput,
    onStage: (stage: TaskStage) => Promise<void> | void,
    onStem: (part: PartName, wav: Uint8Array) => Promise<void>,
  ): Promise<void> {
    return this.run<void>({ task: 'stems', input }, { onStage, onStem });
  }

  /** Masters `mix` (moved to the thread: unusable here afterwards) and encodes it. */
  master(mix: Stereo, targetLufs: number): Promise<MasteredFiles> {
    return this.withTailAside<MasteredFiles>({ task: 'master', mix, targetLufs }, {}, buffersOf(mix));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.quiet);
    await this.pool.close({ force: true });
  }

  /**
   * A helper task on another thread, if one is idle now (null if not); its claim decides whether it
   * runs. A helper that fails gives null: the task it helps does the work itself (and meets the same
   * failure, if any).
   */
  private aside<T>(task: HelperTask, transfer: ArrayBuffer[] = []): Promise<T | null> | null {
    if (this.pending + 1 > this.threads) return null;
    return this.run<T | null>(task, {}, transfer).catch(() => null);
  }

  /** A helper's result, counted in `helped` when there is one. */
  private used<T>(kind: HelperTask['task'], value: T | null): T | null {
    if (value) this.helped[kind]++;
    return value;
  }

  /** `task`, whose MP3 tail, if it offers it, goes to a thread idle by then. */
  private withTailAside<T>(task: EngineTask, listeners: Listeners, transfer: ArrayBuffer[] = []): Promise<T> {
    let tail: Promise<{ mp3: Uint8Array } | null> | null = null;
    let claim: Int32Array | undefined;
    return this.run<T>(
      task,
      {
        ...listeners,
        onOfferTail: (left, right, offered) => {
          claim = offered;
          tail = this.aside({ task: 'tail', left, right, claim }, buffersOf({ left, right }));
        },
        onNeedTail: async () => this.used('tail', await tail)?.mp3 ?? null,
      },
      transfer,
    ).finally(() => claim && giveUp(claim));
  }

  /** Counts tasks in and out, and tells the threads how many are idle. */
  private count(change: 1 | -1 | 0): void {
    this.pending += change;
    Atomics.store(this.shared.idle, 0, Math.max(0, this.threads - this.pending));
  }

  /**
   * Once no task is left and a job's task has run since the last release, the release after
   * `releaseIdleMs` of quiet (a new task calls it off).
   */
  private releaseWhenQuiet(): void {
    if (this.closed || this.pending > 0 || this.releaseIdleMs <= 0 || !this.worked) return;
    this.quiet = setTimeout(() => void this.release(), this.releaseIdleMs).unref();
  }

  private async run<T>(task: EngineTask, listeners: Listeners, transfer: ArrayBuffer[] = []): Promise<T> {
    const { port1, port2 } = new MessageChannel();
    const abort = new AbortController();
    clearTimeout(this.quiet);
    if (task.task !== 'warm' && task.task !== 'release') this.worked = true;
    this.count(1);
    // The first report that failed (set from the port's listener).
    const failed: { error?: unknown; set?: true } = {};
    let chain = Promise.resolve();
    let ended: () => void = () => {};
    const end = new Promise<void>((resolve) => {
      ended = resolve;
    });
    const fail = (error: unknown) => {
      if (failed.set) return;
      Object.assign(failed, { error, set: true });
      abort.abort(error);
    };
    port1.on('message', (event: ThreadEvent) => {
      if (event.type === 'end') ended();
      // Between threads: answered at once, not after the reports queued before it (a slow database
      // write would hold the thread waiting for its part or its tail).
      else if (event.type === 'need' || event.type === 'offer-tail' || event.type === 'need-tail')
        coordinate(event, listeners, port1).catch(fail);
      else
        chain = chain
          .then(async () => {
            if (failed.set) return;
            if (event.type === 'stage') await listeners.onStage?.(event.stage);
            else {
              await listeners.onStem?.(event.part, event.wav);
              port1.postMessage('next');
            }
          })
          .catch(fail);
    });
    try {
      const outcome = (await this.pool.run(
        { ...task, port: port2 },
        { transferList: [port2, ...transfer] as never, signal: abort.signal },
      )) as ThreadOutcome<T>;
      // Every stage the thread posted has been reported before the task counts as done.
      await end;
      await chain;
      if (failed.set) throw failed.error;
      if (outcome.ok) return outcome.value;
      if ('failure' in outcome) {
        const { code, detail, final } = outcome.failure;
        throw new Failure(code, detail, { final });
      }
      throw Object.assign(new Error(outcome.error.message), { name: outcome.error.name, stack: outcome.error.stack });
    } catch (err) {
      await chain;
      throw failed.set ? failed.error : err;
    } finally {
      this.count(-1);
      this.releaseWhenQuiet();
      port1.close();
    }
  }
}

/** A thread's need for a part or its MP3 tail answered, or its tail offered. */
async function coordinate(
  event: Extract<ThreadEvent, { type: 'need' | 'offer-tail' | 'need-tail' }>,
  listeners: Listeners,
  port: MessagePort,
): Promise<void> {
  if (event.type === 'offer-tail') listeners.onOfferTail?.(event.left, event.right, event.claim);
  else if (event.type === 'need') {
    const mix = (await listeners.onNeed?.(event.part)) ?? null;
    port.postMessage({ type: 'part', part: event.part, mix }, mix ? buffersOf(mix) : []);
  } else {
    const mp3 = (await listeners.onNeedTail?.()) ?? null;
    port.postMessage({ type: 'tail', mp3 }, mp3 ? ownBuffer(mp3) : []);
  }
}

/** `execArgv` with tsx's loader, once. */
function withTsx(execArgv: string[]): string[] {
  const has = execArgv.some((a, i) => a.includes('tsx') && (execArgv[i - 1] === '--import' || a.startsWith('--import')));
  return has ? execArgv : [...execArgv, '--import', 'tsx'];
}
