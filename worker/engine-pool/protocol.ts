/** What the worker's main thread and an engine thread say to each other (worker/engine-pool/). */
import type { FailureCode } from '../../src/failures.js';
import type { Stereo } from '../engine/dsp.js';
import type { PartName } from '../engine/index.js';
import type { BeatInput, TaskStage } from '../engine/tasks.js';

/** A task as posted to a thread, with the port its events come back on. */
export type EngineTask =
  | { task: 'beat'; input: BeatInput }
  | { task: 'stems'; input: BeatInput }
  | { task: 'master'; mix: Stereo; targetLufs: number }
  | { task: 'warm' };

/** From a thread, on the task's port: a stage begins, a stem is ready (answered with `next`), the task is over. */
export type ThreadEvent =
  | { type: 'stage'; stage: TaskStage }
  | { type: 'stem'; part: PartName; wav: Uint8Array }
  | { type: 'end' };

/**
 * A task's outcome. A Failure thrown in a thread is sent back as its fields (a thrown class does not
 * survive the crossing) and thrown again on the main thread as the same Failure.
 */
export type ThreadOutcome<T> =
  | { ok: true; value: T }
  | { ok: false; failure: { code: FailureCode; detail?: string; final: boolean } }
  | { ok: false; error: { name: string; message: string; stack?: string } };
