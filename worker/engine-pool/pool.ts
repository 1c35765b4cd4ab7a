/**
 * The engine's threads: the audio engine is CPU-bound, so its tasks (engine/tasks.ts) run on a pool of
 * worker threads (piscina), one per core by default (WORKER_THREADS). The main thread keeps the job's
 * I/O (database, storage, progress) and BullMQ's lock renewal, which a render can then never starve.
 *
 * A task's stages come back as they happen and are reported in order; when a report fails (the
 * generation was cancelled, the database is away) the task is aborted, its thread ended (piscina
 * starts another), and the report's error is what the job sees.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Failure } from '../../src/failures.js';
import type { Stereo } from '../engine/dsp.js';
import type { PartName } from '../engine/index.js';
import type { BeatFiles, BeatInput, MasteredFiles, TaskStage } from '../engine/tasks.js';
import type { EngineTask, ThreadEvent, ThreadOutcome } from './protocol.js';

/** The thread's module: compiled JavaScript in dist/, TypeScript under tsx (dev and tests). */
const THREAD = new URL(`./thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

export const defaultThreads = () => availableParallelism();

interface Listeners {
  onStage?: (stage: TaskStage) => Promise<void> | void;
  onStem?: (part: PartName, wav: Uint8Array) => Promise<void>;
}

export class EnginePool {
  private readonly pool: Piscina;

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

  /** Loads the engine and its MP3 encoder in every thread, so no job pays for it. */
  async warm(): Promise<void> {
    await Promise.all(Array.from({ length: this.threads }, () => this.run({ task: 'warm' }, {})));
  }

  beat(input: BeatInput, onStage: (stage: TaskStage) => Promise<void> | void): Promise<BeatFiles> {
    return this.run<BeatFiles>({ task: 'beat', input }, { onStage });
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
    // Left and right may be views of one buffer: each buffer moves once.
    const buffers = [...new Set([mix.left.buffer, mix.right.buffer])] as ArrayBuffer[];
    return this.run<MasteredFiles>({ task: 'master', mix, targetLufs }, {}, buffers);
  }

  async close(): Promise<void> {
    await this.pool.close({ force: true });
  }

  private async run<T>(task: EngineTask, listeners: Listeners, transfer: ArrayBuffer[] = []): Promise<T> {
    const { port1, port2 } = new MessageChannel();
    const abort = new AbortController();
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
          if (event.type === 'stage') await listeners.onStage?.(event.stage);
          else {
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
      port1.close();
    }
  }
}

/** `execArgv` with tsx's loader, once. */
function withTsx(execArgv: string[]): string[] {
  const has = execArgv.some((a, i) => a.includes('tsx') && (execArgv[i - 1] === '--import' || a.startsWith('--import')));
  return has ? execArgv : [...execArgv, '--import', 'tsx'];
}
