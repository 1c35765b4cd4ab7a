/**
 * Ends a user's live subscriptions on a project the moment they lose access to it, on every api
 * instance: each process listens once on `projectAccessRevoked` and calls the `end` of every
 * subscription that user holds on that project here (registered by graphql/live-subscription.ts).
 * A revocation is handled as Redis hands it over, before the next event reaches any subscription:
 * an event published after it (the member's removal announced on the project) finds the
 * subscription ended. It is published ahead of what follows on every channel (PubSub.publishAhead),
 * once per master in a Redis Cluster: the first copy is taken, the others are known by their id.
 */
import type { Logger } from '../../logger.js';
import type { PubSub } from '../../pubsub.js';

/** How many revocation ids are remembered to know a copy. */
const TAKEN_KEPT = 1_000;

export class ProjectAccessWatch {
  private readonly watchers = new Map<string, Set<() => void>>();
  private leave: (() => void) | null = null;
  private stopped = false;
  /** The last revocations taken (their copies from other masters arrive within moments). */
  private readonly taken = new Set<string>();

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

  revoke(userId: string, projectId: string, id?: string): void {
    if (id !== undefined) {
      if (this.taken.has(id)) return;
      this.taken.add(id);
      if (this.taken.size > TAKEN_KEPT) this.taken.delete(this.taken.values().next().value as string);
    }
    const set = this.watchers.get(`${userId}:${projectId}`);
    if (!set) return;
    this.watchers.delete(`${userId}:${projectId}`);
    // Called from Redis's data handler: one subscription's failure to end must not stop the others.
    for (const end of set) {
      try {
        end();
      } catch (err) {
        this.deps.log.error({ err, userId, projectId }, 'project access watch: ending a subscription failed');
      }
    }
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
        const leave = await this.deps.pubsub.listen('projectAccessRevoked', 'all', ({ userId, projectId, id }) =>
          this.revoke(userId, projectId, id),
        );
        if (this.stopped) {
          leave();
          return;
        }
        this.leave = leave;
        listening();
        return;
      } catch (err) {
        if (this.stopped) return;
        this.deps.log.warn({ err: (err as Error).message }, 'project access watch: cannot listen, retrying');
        await new Promise((resolve) => setTimeout(resolve, 1000).unref());
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.leave?.();
    this.leave = null;
  }
}
