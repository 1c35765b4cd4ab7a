/**
 * The one way a subscription field follows a pub/sub event. In this order:
 *   1. `prepare` validates and access-checks every argument (throws AppError: an error result,
 *      nothing acquired);
 *   2. the Redis subscription is acquired and confirmed (an event published from here on is seen);
 *   3. the subscriber's own head is read (current state, replay), then live events follow;
 *   4. one `release` ends the Redis subscription on every path: the stream ends or throws, the
 *      client completes, the socket closes, the server stops, the viewer loses access to the
 *      stream's project (`projectId`). A release before the stream is handed out cancels: nothing
 *      is acquired after it, what was is let go at once, no head is read, and the stream is empty.
 * A stream without a head (a plain live feed) is marked shareable: the transport may execute it
 * once for identical subscriptions (transport/shared-subscriptions.ts); a stream with a head is
 * never shared, so every subscriber gets its own current state or replay.
 */
import type { EventMap, EventName } from '../pubsub.js';
import type { Context } from './context.js';

export interface LivePlan<E extends EventName, T> {
  event: E;
  key: string;
  /**
   * The project the stream belongs to, if any: when the viewer loses access to it (removed, or left),
   * the stream ends at once (modules/projects/access-watch.ts).
   */
  projectId?: string | null;
  /**
   * The subscriber's own stream: its head (read now, after the subscription is confirmed, so
   * nothing falls in between) then the live events it wants. Absent: the live events as they come.
   */
  follow?: (live: AsyncIterable<EventMap[E]>) => AsyncIterable<T>;
  /**
   * Puts the live events in order, before `follow`: drops one that arrived after a newer one about the
   * same thing. It is the same for every subscriber, so unlike `follow` it leaves the stream shareable.
   */
  order?: (live: AsyncIterable<EventMap[E]>) => AsyncIterable<EventMap[E]>;
}

interface SubscribeState {
  /** Set by the transport for a subscriber joining a shared stream: check arguments and access only. */
  checkOnly: boolean;
  /** Set here: the stream has no per-subscriber head, so identical subscriptions may share it. */
  shareable: boolean;
  /** Set here once the Redis subscription is held: the transport's direct handle to end it. */
  release: (() => Promise<unknown>) | null;
  /**
   * Set by the transport's release before the stream was handed out (the client completed, or the
   * socket closed, while this was being set up): nothing more is acquired, what was is let go, and
   * the stream ends without an event.
   */
  cancelled: boolean;
  /** Set here once the stream is handed out: a release from then on ends it, no longer cancels it. */
  handedOut: boolean;
}

const states = new WeakMap<object, SubscribeState>();

function stateOf(ctx: object): SubscribeState {
  let state = states.get(ctx);
  if (!state) {
    state = { checkOnly: false, shareable: false, release: null, cancelled: false, handedOut: false };
    states.set(ctx, state);
  }
  return state;
}

/** For the transport: this operation only joins a shared stream; run its checks, acquire nothing. */
export function checkOnly(contextValue: object, on = true): void {
  stateOf(contextValue).checkOnly = on;
}

/**
 * For the transport: ends the operation's Redis subscription now, whatever wraps its stream (a
 * plugin's async generator that never started would not pass return() on). Called while the
 * operation is still being set up, it cancels it: no subscription is taken, or the one being
 * confirmed is let go at once, and the stream ends without an event. Idempotent.
 */
export function releaseSubscription(contextValue: object): Promise<unknown> {
  const state = stateOf(contextValue);
  if (!state.handedOut) state.cancelled = true;
  return state.release ? state.release() : Promise.resolve();
}

/** For the transport: the operation was released while it was set up (its stream ends without an event). */
export function wasCancelled(contextValue: object): boolean {
  return states.get(contextValue)?.cancelled ?? false;
}

/**
 * For the transport, when the stream becomes shared: its release now belongs to the shared stream
 * (released when the last subscriber leaves), no longer to this operation's context.
 */
export function takeRelease(contextValue: object): () => Promise<unknown> {
  const state = states.get(contextValue);
  const release = state?.release ?? (() => Promise.resolve());
  if (state) state.release = null;
  return release;
}

/** For the transport: whether the operation's stream may be shared by identical subscriptions. */
export function isShareable(contextValue: object): boolean {
  return states.get(contextValue)?.shareable ?? false;
}

async function* nothing<T>(): AsyncGenerator<T> {}

export async function liveSubscription<E extends EventName, T = EventMap[E]>(
  ctx: Context,
  prepare: () => Promise<LivePlan<E, T>>,
): Promise<AsyncGenerator<T>> {
  const plan = await prepare();
  const state = stateOf(ctx);
  state.shareable = !plan.follow;
  if (state.checkOnly || state.cancelled) return nothing<T>();

  const live = await ctx.services.pubsub.subscribeReady(plan.event, plan.key);
  let released: Promise<unknown> | null = null;
  let unwatch = () => {};
  const release = () => {
    unwatch();
    released ??= Promise.resolve(live.return?.());
    return released;
  };
  // From here the transport's release ends the subscription itself (and the stream with it).
  state.release = release;
  if (!state.cancelled && plan.projectId && ctx.viewer) {
    unwatch = ctx.services.projectAccess.watch(ctx.viewer.id, plan.projectId, () => void release().catch(() => {}));
    // Access was checked before the watch began: a removal in between would go unheard, so check
    // again now that it is heard (NOT_FOUND ends this subscription before it starts).
    try {
      await ctx.services.access.project.require(ctx.viewer, plan.projectId, 'read');
    } catch (err) {
      await release();
      throw err;
    }
  }
  // Released while Redis confirmed it or access was checked again: no head is read for nobody.
  if (state.cancelled) {
    await release();
    return nothing<T>();
  }
  const ordered = plan.order ? plan.order(live) : live;
  const stream = ((plan.follow ? plan.follow(ordered) : ordered) as AsyncIterable<T>)[Symbol.asyncIterator]();
  // The stream's own steps, with a release when it ends or throws. Not an async generator around it:
  // `yield*` costs several promise steps per event, per subscriber, which an unshared fan-out pays
  // 2,000 times an event (docs/benchmarks.md, "fewer promise steps per delivery").
  // Once the stream has ended, thrown or been returned, next() answers done without calling it again.
  let finished = false;
  const ended = (step: IteratorResult<T>): IteratorResult<T> | Promise<IteratorResult<T>> => {
    if (!step.done) return step;
    finished = true;
    return release().then(() => step);
  };
  const failed = (err: unknown): Promise<IteratorResult<T>> => {
    finished = true;
    return release().then(() => {
      throw err;
    });
  };
  // return() and throw() release first: the stream's pending next() (an event queue waiting for
  // its next event) then ends at once, rather than holding the channel until the next event.
  const wrapper: AsyncGenerator<T> = {
    next: () => {
      if (finished) return Promise.resolve({ value: undefined as T, done: true });
      // A stream whose next() throws at once fails the step (released), as the async generator did.
      let step: Promise<IteratorResult<T>>;
      try {
        step = stream.next();
      } catch (err) {
        return failed(err);
      }
      return step.then(ended, failed);
    },
    return: async (value) => {
      finished = true;
      let step: IteratorResult<T> | undefined;
      try {
        await release();
      } finally {
        // The stream's own cleanup (a head's `finally`) runs even when the release failed.
        step = await stream.return?.(value);
      }
      return step ?? { value: value as T, done: true };
    },
    throw: async (err) => {
      await release();
      if (stream.throw) return stream.throw(err).then(ended, failed);
      finished = true;
      await stream.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return wrapper;
    },
  };
  state.handedOut = true;
  return wrapper;
}
