/**
 * An engine thread (piscina runs one per core, worker/engine-pool/pool.ts): takes a task
 * (engine/tasks.ts), posts its stages on the task's port, and returns its files. Nothing here reaches
 * a database, a queue or storage.
 *
 * Loaded as compiled ES modules in production; under tsx (dev and tests) a thread gets only tsx's
 * CommonJS hook on Node 20, so the engine's imports must work both ways (see encode.ts).
 */
import type { MessagePort } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { Failure } from '../../src/failures.js';
import { fullGc } from '../../src/heap-trim.js';
import { DEFAULT_BPM, GENRES } from '../../src/music/genres.js';
import { type MusicalKey, parseKey } from '../../src/music/keys.js';
import { SAMPLE_RATE, type Stereo } from '../engine/dsp.js';
import { type Mp3TailElsewhere, lameFrames } from '../engine/encode.js';
import { mp3Halves } from '../engine/mp3-halves.js';
import type { PartName } from '../engine/index.js';
import { type BeatInput, type TaskStage, beatFiles, masterFiles, partOfBeat, stemFiles } from '../engine/tasks.js';
import {
  type EngineTask,
  type MainEvent,
  type ThreadEvent,
  type ThreadOutcome,
  type PoolShared,
  begin,
  buffersOf,
  giveUp,
  newClaim,
  ownBuffer,
} from './protocol.js';

/**
 * What a thread renders before its first job: a short beat (a bar or two) of every genre, each with its
 * own voices, drums (but ambient's, which play only when the mood asks) and effects, with the fields of
 * a job's input in their order (worker/handlers/beat.ts), so that the code it optimizes sees the objects
 * a job brings. V8 optimizes a function once it has run often enough: after one bar of lo-fi alone, a
 * thread's first three or four 30 s beats still ran much of the engine unoptimized (docs/benchmarks.md,
 * "A short beat of every genre before the first job").
 */
const WARM_UP: BeatInput[] = GENRES.map((genre, i) => ({
  genre,
  bpm: DEFAULT_BPM[genre],
  key: parseKey('A minor') as MusicalKey,
  mood: 'mellow',
  durationSec: 2,
  seed: i + 1,
  targetLufs: -14,
}));

const post = (port: MessagePort, event: ThreadEvent) =>
  port.postMessage(
    event,
    event.type === 'stem'
      ? [event.wav.buffer as ArrayBuffer]
      : event.type === 'offer-tail'
        ? buffersOf({ left: event.left, right: event.right })
        : [],
  );

/** The main thread's next message on the port. */
const answer = (port: MessagePort) => new Promise<MainEvent>((resolve) => port.once('message', resolve));

/** A part of the beat from the thread that rendered it, or rendered here if it could not be had there. */
async function fromElsewhere(port: MessagePort, input: BeatInput, part: PartName): Promise<Stereo> {
  post(port, { type: 'need', part });
  const reply = await answer(port);
  return typeof reply === 'object' && reply.type === 'part' && reply.mix ? reply.mix : partOfBeat(input, part);
}

/**
 * The longest MP3 tail offered to another thread, in samples: that of a 124 s mix (a 120 s beat's
 * whole bars), 55 % of it. The offer is a copy, about 23 MiB at most, so a longer beat keeps to one
 * thread and to the memory measured for it (docs/operations.md).
 */
const OFFER_MAX_SAMPLES = 124 * SAMPLE_RATE - (mp3Halves(124 * SAMPLE_RATE)?.tailFrom ?? 0);

/** Threads idle in the pool now (none when run outside one, as in tests). */
const idleThreads = () => {
  const shared = workerData as PoolShared | undefined;
  return shared?.idle ? Atomics.load(shared.idle, 0) : 0;
};

/**
 * An MP3's tail offered to the main thread when another thread is idle (encode.ts). Once the head is
 * encoded, the tail is taken back unless a helper has begun it (its claim), and only then asked for.
 */
const tailElsewhere =
  (port: MessagePort): Mp3TailElsewhere =>
  (left, right) => {
    if (left.length > OFFER_MAX_SAMPLES || idleThreads() < 1) return null;
    const claim = newClaim();
    post(port, { type: 'offer-tail', left: left.slice(), right: right.slice(), claim });
    return async () => {
      if (giveUp(claim)) return null;
      post(port, { type: 'need-tail' });
      const reply = await answer(port);
      return typeof reply === 'object' && reply.type === 'tail' ? reply.mp3 : null;
    };
  };

async function run(task: EngineTask, port: MessagePort): Promise<unknown> {
  const onStage = (stage: TaskStage) => post(port, { type: 'stage', stage });
  switch (task.task) {
    case 'beat': {
      const { input, elsewhere: part } = task;
      const parts = part ? { [part]: () => fromElsewhere(port, input, part) } : {};
      return beatFiles(input, onStage, parts, tailElsewhere(port));
    }
    case 'part':
      return begin(task.claim) ? partOfBeat(task.input, task.part) : null;
    case 'tail':
      return begin(task.claim) ? { mp3: lameFrames(task.left, task.right) } : null;
    case 'stems':
      return stemFiles(task.input, onStage, async (part, wav) => {
        post(port, { type: 'stem', part, wav });
        await answer(port);
      });
    case 'master':
      return masterFiles(task.mix, task.targetLufs, tailElsewhere(port));
    case 'warm':
      // Loads the engine, compiles the MP3 encoder and runs a short beat of each genre through every
      // stage, so that a thread's first job finds its code compiled and optimized.
      for (const input of WARM_UP) await beatFiles(input, () => {});
      return null;
    case 'release':
      fullGc();
      return null;
  }
}

/**
 * An outcome whose files and samples move to the main thread instead of being copied (a 30 s beat's
 * WAV is 5 MB). Only a buffer a view has to itself moves: a small Buffer may share Node's pool with others.
 */
function moved(outcome: ThreadOutcome<unknown>): ThreadOutcome<unknown> {
  const value = outcome.ok ? outcome.value : undefined;
  const views = value && typeof value === 'object' ? Object.values(value).filter((v) => ArrayBuffer.isView(v)) : [];
  const own = views.flatMap(ownBuffer);
  if (!own.length) return outcome;
  return move({ [transferableSymbol]: [...new Set(own)], [valueSymbol]: outcome } as never) as unknown as ThreadOutcome<unknown>;
}

export default async function engineThread({
  port,
  ...task
}: EngineTask & { port: MessagePort }): Promise<ThreadOutcome<unknown>> {
  try {
    return moved({ ok: true, value: await run(task as EngineTask, port) });
  } catch (err) {
    if (err instanceof Failure) return { ok: false, failure: { code: err.code, detail: err.detail, final: err.final } };
    const e = err instanceof Error ? err : new Error(String(err));
    return { ok: false, error: { name: e.name, message: e.message, stack: e.stack } };
  } finally {
    // The main thread closes the port once it has read this.
    post(port, { type: 'end' });
  }
}
