/** What the worker's main thread and an engine thread say to each other (worker/engine-pool/). */
import type { FailureCode } from '../../src/failures.js';
import type { Stereo } from '../engine/dsp.js';
import type { PartName } from '../engine/index.js';
import type { BeatInput, TaskStage } from '../engine/tasks.js';

/** A task as posted to a thread, with the port its events come back on. */
export type EngineTask =
  /** `elsewhere`: a part another thread renders meanwhile, asked for with `need` when the mix reaches it. */
  | { task: 'beat'; input: BeatInput; elsewhere?: PartName }
  /**
   * One part of a beat, posted back as a `part` event: another thread's `elsewhere`. Skipped if
   * `unwanted[0]` (shared memory) is set when it begins.
   */
  | { task: 'part'; input: BeatInput; part: PartName; unwanted: Int32Array }
  | { task: 'stems'; input: BeatInput }
  | { task: 'master'; mix: Stereo; targetLufs: number }
  | { task: 'warm' };

/**
 * From a thread, on the task's port: the task has started, a stage begins, a stem is ready (answered
 * with `next`), a part is rendered, a part from elsewhere is needed (answered with a `part`), the task
 * is over.
 */
export type ThreadEvent =
  | { type: 'start' }
  | { type: 'stage'; stage: TaskStage }
  | { type: 'stem'; part: PartName; wav: Uint8Array }
  | PartEvent
  | { type: 'need'; part: PartName }
  | { type: 'end' };

/** A part's samples (moved, not copied), or null for "render it yourself": it could not be had elsewhere. */
export interface PartEvent {
  type: 'part';
  part: PartName;
  mix: Stereo | null;
}

/** From the main thread, on a task's port: a stem was taken, or the part that was needed. */
export type MainEvent = 'next' | PartEvent;

/** The buffers under a stereo signal, each once (left and right may be views of one): what moves it between threads. */
export const buffersOf = (s: Stereo): ArrayBuffer[] => [...new Set([s.left.buffer, s.right.buffer])] as ArrayBuffer[];

/**
 * A task's outcome. A Failure thrown in a thread is sent back as its fields (a thrown class does not
 * survive the crossing) and thrown again on the main thread as the same Failure.
 */
export type ThreadOutcome<T> =
  | { ok: true; value: T }
  | { ok: false; failure: { code: FailureCode; detail?: string; final: boolean } }
  | { ok: false; error: { name: string; message: string; stack?: string } };
