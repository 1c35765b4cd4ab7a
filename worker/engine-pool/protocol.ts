/** What the worker's main thread and an engine thread say to each other (worker/engine-pool/). */
import type { FailureCode } from '../../src/failures.js';
import type { Stereo } from '../engine/dsp.js';
import type { PartName } from '../engine/index.js';
import type { BeatInput, TaskStage } from '../engine/tasks.js';

/**
 * A task as posted to a thread, with the port its events come back on. A helper task (`part`,
 * `tail`) does another thread's work for it and returns its result, or null if its claim was given
 * up before it began.
 */
export type EngineTask =
  /** `elsewhere`: a part another thread renders meanwhile, asked for with `need` when the mix reaches it. */
  | { task: 'beat'; input: BeatInput; elsewhere?: PartName }
  /** One part of a beat (a Stereo): another thread's `elsewhere`. */
  | { task: 'part'; input: BeatInput; part: PartName; claim: Int32Array }
  /** An MP3's tail (its frames, as `{ mp3 }`): what another thread offered with `offer-tail`, with its claim. */
  | { task: 'tail'; left: Float32Array; right: Float32Array; claim: Int32Array }
  | { task: 'stems'; input: BeatInput }
  | { task: 'master'; mix: Stereo; targetLufs: number }
  | { task: 'warm' }
  /** A full collection: what the thread's last tasks left, freed (the pool's release). */
  | { task: 'release' };

/** A task that helps another: its result, or null if its claim was given up before it began. */
export type HelperTask = Extract<EngineTask, { claim: Int32Array }>;

/**
 * A helper's claim on its task, in shared memory: free until either the helper begins the task or
 * the thread that wanted it no longer does, whichever comes first (compare-and-swap, so never both).
 */
const FREE = 0;
const BEGUN = 1;
const GIVEN_UP = 2;
export const newClaim = () => new Int32Array(new SharedArrayBuffer(4));
/** The helper's side: true if it may begin (the claim was not given up). */
export const begin = (claim: Int32Array) => Atomics.compareExchange(claim, 0, FREE, BEGUN) === FREE;
/** The wanting side: true if the helper had not begun, and now never will. */
export const giveUp = (claim: Int32Array) => Atomics.compareExchange(claim, 0, FREE, GIVEN_UP) === FREE;

/**
 * From a thread, on the task's port: a stage begins, a stem is ready (answered with `next`), a part
 * from elsewhere is needed (answered with a `part`), an MP3's tail is offered to be encoded elsewhere
 * (copies of its samples, and the claim the thread gives up once it would rather encode it itself),
 * then needed because a helper began it (answered with a `tail`), the task is over.
 */
export type ThreadEvent =
  | { type: 'stage'; stage: TaskStage }
  | { type: 'stem'; part: PartName; wav: Uint8Array }
  | { type: 'need'; part: PartName }
  | { type: 'offer-tail'; left: Float32Array; right: Float32Array; claim: Int32Array }
  | { type: 'need-tail' }
  | { type: 'end' };

/** A part's samples (moved, not copied), or null for "render it yourself": it could not be had elsewhere. */
export interface PartEvent {
  type: 'part';
  part: PartName;
  mix: Stereo | null;
}

/** An MP3 tail's frames (moved), or null for "encode it yourself". */
export interface TailEvent {
  type: 'tail';
  mp3: Uint8Array | null;
}

/** From the main thread, on a task's port: a stem was taken, the part or the MP3 tail that was needed. */
export type MainEvent = 'next' | PartEvent | TailEvent;

/**
 * What the pool shares with its threads (piscina's workerData): how many threads are idle now, read
 * before copying anything to offer (its own word in shared memory, kept by the pool).
 */
export interface PoolShared {
  idle: Int32Array;
}

/** The buffers under a stereo signal, each once (left and right may be views of one): what moves it between threads. */
export const buffersOf = (s: Stereo): ArrayBuffer[] => [...new Set([s.left.buffer, s.right.buffer])] as ArrayBuffer[];

/** The buffer under `view` if the view is all of it (so it can move), else none (it is copied). */
export const ownBuffer = (view: ArrayBufferView): ArrayBuffer[] =>
  view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? [view.buffer as ArrayBuffer] : [];

/**
 * A task's outcome. A Failure thrown in a thread is sent back as its fields (a thrown class does not
 * survive the crossing) and thrown again on the main thread as the same Failure.
 */
export type ThreadOutcome<T> =
  | { ok: true; value: T }
  | { ok: false; failure: { code: FailureCode; detail?: string; final: boolean } }
  | { ok: false; error: { name: string; message: string; stack?: string } };
