/**
 * Ends a user's live subscriptions on a project the moment they lose access to it, on every api
 * instance: each process listens once on `projectAccessRevoked` and calls the `end` of every
 * subscription that user holds on that project here (registered by graphql/live-subscription.ts).
 */
import type { Logger } from '../../logger.js';
import type { PubSub } from '../../pubsub.js';

export class ProjectAccessWatch {
  private readonly watchers = new Map<string, Set<() => void>>();
  private events: AsyncIterableIterator<{ projectId: string; userId: string }> | null = null;
  private stopped = false;

  constructor(private readonly deps: { pubsub: PubSub; log: Logger }) {}

  /** Calls `end` when `userId` loses access to `projectId`; the returned function stops watching. */
  watch(userId: string, projectId: string, end: () => void): () => void {
    const key = `${userId}:${projectId}`;
    let set = this.watchers.get(key);
    if (!set) {
      set = new Set();
      this.watchers.set(key, set);
    }
    set.add(end);
    return () => {
      set.delete(end);
      if (set.size === 0 && this.watchers.get(key) === set) this.watchers.delete(key);
    };
  }

  /** Subscriptions watched now (for leak tests). */
  get size(): number {
    let n = 0;
    for (const set of this.watchers.values()) n += set.size;
    return n;
  }

  revoke(userId: string, projectId: string): void {
    const set = this.watchers.get(`${userId}:${projectId}`);
    if (!set) return;
    this.watchers.delete(`${userId}:${projectId}`);
    for (const end of set) end();
  }

  /**
   * Listens until stop(); while Redis is away it tries again every second (ioredis re-subscribes by
   * itself after a reconnection, so an established listener needs no help).
   */
  start(readyWithinMs = 2_000): Promise<void> {
    // Resolves once listening, or after readyWithinMs (Redis away: the api starts anyway, and the
    // loop keeps trying).
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, readyWithinMs);
      timer.unref();
      void this.run(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async run(listening: () => void): Promise<void> {
    while (!this.stopped) {
      try {
        const events = await this.deps.pubsub.subscribeReady('projectAccessRevoked', 'all');
        if (this.stopped) {
          await events.return?.();
          return;
        }
        this.events = events;
        listening();
        for await (const { userId, projectId } of events) this.revoke(userId, projectId);
      } catch (err) {
        if (this.stopped) return;
        this.deps.log.warn({ err: (err as Error).message }, 'project access watch: cannot listen, retrying');
        await new Promise((resolve) => setTimeout(resolve, 1000).unref());
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.events?.return?.();
    this.events = null;
  }
}
