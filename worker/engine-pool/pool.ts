/**
 * The engine's threads: the audio engine is CPU-bound, so its tasks (engine/tasks.ts) run on a pool of
 * worker threads (piscina), one per core by default (WORKER_THREADS). The main thread keeps the job's
 * I/O (database, storage, progress) and BullMQ's lock renewal, which a render can then never starve.
 *
 * A task's stages come back as they happen and are reported in order; when a report fails (the
 * generation was cancelled, the database is away) the task is aborted, its thread ended (piscina
 * starts another), and the report's error is what the job sees.
 *
 * A beat that finds a second thread idle splits: that thread renders its chords (SPLIT_PART) while the
 * beat's own thread renders the other parts, and hands them over (moved, not copied) when the mix
 * reaches them. The bytes are the same either way. When the pool is busy a beat keeps to one thread,
 * so throughput is what it was; and when a helper has not begun by the time its part is needed, the
 * beat's thread renders the part and the helper skips it, so a beat never waits on the queue. A beat
 * that fails or is cancelled lets a helper already rendering finish (one part's time), rather than
 * end its thread.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Failure } from '../../src/failures.js';
import type { Stereo } from '../engine/dsp.js';
import type { PartName } from '../engine/index.js';
import type { BeatFiles, BeatInput, MasteredFiles, TaskStage } from '../engine/tasks.js';
import { type EngineTask, type ThreadEvent, type ThreadOutcome, buffersOf } from './protocol.js';

/** The thread's module: compiled JavaScript in dist/, TypeScript under tsx (dev and tests). */
const THREAD = new URL(`./thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

export const defaultThreads = () => availableParallelism();

interface Listeners {
  onStart?: () => void;
  onStage?: (stage: TaskStage) => Promise<void> | void;
  onStem?: (part: PartName, wav: Uint8Array) => Promise<void>;
  onPart?: (part: PartName, mix: Stereo | null) => void;
  /** A part from elsewhere: its samples, or null for the thread to render it itself. */
  onNeed?: (part: PartName) => Promise<Stereo | null>;
}

/** The part a second thread renders for a beat: the one that takes longest (about a third of the parts' time). */
const SPLIT_PART: PartName = 'chords';
/**
 * The longest beat that splits. A split beat's thread holds one stem more while it waits (0.35 MiB a
 * second of audio): up to 42 MiB here, so a job stays well within its 400 MiB (docs/operations.md);
 * a longer beat keeps to one thread and to the memory measured for it.
 */
const SPLIT_MAX_SEC = 120;

export class EnginePool {
  private readonly pool: Piscina;
  /** Tasks handed to the pool and not yet done (running or queued). */
  private pending = 0;

  constructor(readonly threads: number = defaultThreads()) {
    this.pool = new Piscina({
      filename: THREAD.href,
      minThreads: threads,
      maxThreads: threads,
      // Queued tasks wait for a free thread; each holds only its input meanwhile.
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Under tsx the thread needs its loader too (a compiled dist/ thread does not).
      execArgv: THREAD.pathname.endsWith('.ts') ? withTsx(process.execArgv) : process.execArgv,
    });
  }

  /** Loads the engine and its MP3 encoder in every thread and runs a bar through every stage, so no job pays for it. */
  async warm(): Promise<void> {
    await Promise.all(Array.from({ length: this.threads }, () => this.run({ task: 'warm' }, {})));
  }

  beat(input: BeatInput, onStage: (stage: TaskStage) => Promise<void> | void): Promise<BeatFiles> {
    if (this.pending + 2 > this.threads || input.durationSec > SPLIT_MAX_SEC)
      return this.run<BeatFiles>({ task: 'beat', input }, { onStage });
    const part = SPLIT_PART;
    let started = false;
    let rendered: Stereo | null = null;
    // Set once the part is no longer wanted; shared with the helper's thread, which then skips it if it has not begun.
    const unwanted = new Int32Array(new SharedArrayBuffer(4));
    const helper = this.run<null>(
      { task: 'part', input, part, unwanted },
      {
        onStart: () => {
          started = true;
        },
        onPart: (_, mix) => {
          rendered = mix;
        },
      },
    ).then(
      () => rendered,
      // Failed: the beat's thread renders the part (and meets the same failure, if any).
      () => null,
    );
    const onNeed = async () => {
      if (started) return helper;
      // Not begun: rendered where it is needed instead. The helper, when its turn comes, skips it;
      // nothing is aborted, so no thread is ended and started again cold.
      Atomics.store(unwanted, 0, 1);
      return null;
    };
    const done = () => Atomics.store(unwanted, 0, 1);
    return this.run<BeatFiles>({ task: 'beat', input, elsewhere: part }, { onStage, onNeed }).finally(done);
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
    return this.run<MasteredFiles>({ task: 'master', mix, targetLufs }, {}, buffersOf(mix));
  }

  async close(): Promise<void> {
    await this.pool.close({ force: true });
  }

  private async run<T>(task: EngineTask, listeners: Listeners, transfer: ArrayBuffer[] = []): Promise<T> {
    const { port1, port2 } = new MessageChannel();
    const abort = new AbortController();
    this.pending++;
    // The first report that failed (set from the port's listener).
    const failed: { error?: unknown; set?: true } = {};
    let chain = Promise.resolve();
    let ended: () => void = () => {};
    const end = new Promise<void>((resolve) => {
      ended = resolve;
    });
    port1.on('message', (event: ThreadEvent) => {
      if (event.type === 'end') {
        ended();
        return;
      }
      chain = chain
        .then(async () => {
          if (failed.set) return;
          if (event.type === 'start') listeners.onStart?.();
          else if (event.type === 'stage') await listeners.onStage?.(event.stage);
          else if (event.type === 'part') listeners.onPart?.(event.part, event.mix);
          else if (event.type === 'need') {
            const mix = (await listeners.onNeed?.(event.part)) ?? null;
            port1.postMessage({ type: 'part', part: event.part, mix }, mix ? buffersOf(mix) : []);
          } else {
            await listeners.onStem?.(event.part, event.wav);
            port1.postMessage('next');
          }
        })
        .catch((error) => {
          if (failed.set) return;
          Object.assign(failed, { error, set: true });
          abort.abort(error);
        });
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
      this.pending--;
      port1.close();
    }
  }
}

/** `execArgv` with tsx's loader, once. */
function withTsx(execArgv: string[]): string[] {
  const has = execArgv.some((a, i) => a.includes('tsx') && (execArgv[i - 1] === '--import' || a.startsWith('--import')));
  return has ? execArgv : [...execArgv, '--import', 'tsx'];
}
