/**
 * ioredis pipelines without a hidden class each. ioredis's Pipeline constructor (5.11.1, and 6.1.0
 * still) gives every pipeline its own `length` accessor, `Object.defineProperty(this, 'length', { get })`
 * with a new getter each time, so every pipeline gets a V8 hidden class of its own. Hidden classes
 * live in old space; that one holds the getter, the getter holds the pipeline, and a scavenge (which
 * cannot tell that the class is garbage) keeps the pipeline and everything it holds: its commands,
 * their arguments, promises and callbacks. All of it is promoted and waits for a major collection.
 * The api auto-pipelines its command connection (a pipeline per event-loop turn) and BullMQ runs
 * pipelines and transactions. Under generateBeat at 200/s the api promoted about 11 % of what it
 * allocated, 1.36-1.50 MB per scavenge, and 0.53 MB with this change; the major collections that
 * promotion brought were that benchmark's stalls (docs/benchmarks.md, "ioredis pipelines without a
 * hidden class each").
 *
 * Here `pipeline()` builds ioredis's own Pipeline with that one definition skipped, and `length` is
 * read through a getter on the prototype, the same for every pipeline. Everything else is the library's
 * constructor. `multi()` builds its pipelines directly and keeps the accessor (a transaction is rare here).
 */
import { Cluster, Pipeline, Redis } from 'ioredis';

type Built = InstanceType<typeof Pipeline>;

const define = Object.defineProperty;

function pipelineOf(this: Redis | Cluster, commands?: unknown[][]): Built {
  // The constructor runs synchronously: nothing else can define a property while it is swapped.
  Object.defineProperty = (<T>(target: T, key: PropertyKey, attributes: PropertyDescriptor & ThisType<unknown>): T =>
    key === 'length' && target instanceof Pipeline && attributes.get ? target : define(target, key, attributes)) as typeof define;
  let pipeline: Built;
  try {
    pipeline = new Pipeline(this as Redis);
  } finally {
    Object.defineProperty = define;
  }
  if (Array.isArray(commands)) pipeline.addBatch(commands);
  return pipeline;
}

let installed = false;

/** Installs the shared `length` and the lean `pipeline()` on ioredis's clients (once; every import of ioredis shares them). */
export function installLeanPipelines(): void {
  if (installed) return;
  installed = true;
  define(Pipeline.prototype, 'length', {
    configurable: true,
    get(this: { _queue: unknown[] }) {
      return this._queue.length;
    },
  });
  for (const Client of [Redis, Cluster])
    define(Client.prototype, 'pipeline', { configurable: true, writable: true, value: pipelineOf });
}

/**
 * ioredis's auto-pipelining keeps the pipeline being filled per slot key in a Map and the keys being
 * sent in a Set, and deletes each key at every flush (one per event-loop turn). A Map or Set that only
 * ever holds one key and has it deleted and set again keeps growing a new backing table; the table it
 * leaves points on to the new one, and since the Map lives in old space, each table is kept through
 * scavenges and promoted in turn (2-4 MB in 30 s of generateBeat at 200/s, docs/benchmarks.md).
 * These keep their entries once set and mark a deleted key empty instead: the same table throughout.
 */
class SlotPipelines<V> {
  private readonly entries = new Map<string, V | undefined>();

  has(key: string): boolean {
    return this.entries.get(key) !== undefined;
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): this {
    this.entries.set(key, value);
    return this;
  }

  delete(key: string): boolean {
    if (this.entries.get(key) === undefined) return false;
    this.entries.set(key, undefined);
    return true;
  }

  /** For ioredis's autoPipelineQueueSize. */
  *values(): IterableIterator<V> {
    for (const value of this.entries.values()) if (value !== undefined) yield value;
  }
}

/** The slot keys whose pipeline is being sent: the same table, with `add` for the Set's. */
class RunningSlots extends SlotPipelines<true> {
  add(key: string): this {
    return this.set(key, true);
  }
}

/** Gives an auto-pipelining client tables that keep their entries (above); before its first command. */
export function keepAutoPipelineTables(client: Redis | Cluster): void {
  const inner = client as unknown as { _autoPipelines: unknown; _runningAutoPipelines: unknown };
  inner._autoPipelines = new SlotPipelines();
  inner._runningAutoPipelines = new RunningSlots();
}
