/**
 * Where a read goes. Only reads that tolerate lag — lists, conversation history, usage — may go to a
 * replica, and each says so by running through `lagTolerant`; every other read, and every write,
 * uses the primary client as before. A lag-tolerant read still goes to the primary when:
 * - its operation is not a query (a mutation writes; a subscription lives on after writes), so a
 *   request that has written reads the primary throughout (`writing`);
 * - the viewer has a write mark no replica has replayed yet, or Redis cannot say (`own_write`);
 * - no replica is up, checked lately and within DATABASE_REPLICA_MAX_LAG_MS (`no_replica`);
 * - the read failed on the replica: it runs again on the primary (`replica_failed`).
 * One operation's lag-tolerant reads all use the node chosen for its first one.
 */
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Db } from './client.js';
import type { Replica, ReplicaSet } from './replicas.js';
import type { WriteMarks } from './write-marks.js';

/** Where a lag-tolerant read went, and why (dawg_db_lag_tolerant_reads_total's `route`). */
export type ReadRoute = 'replica' | 'writing' | 'own_write' | 'no_replica' | 'replica_failed';

export interface ReadRouterDeps {
  primary: Db;
  /** null: no DATABASE_REPLICA_URL. */
  replicas: ReplicaSet | null;
  /** null without replicas: there is nothing to lag behind. */
  marks: WriteMarks | null;
  counted?: (route: ReadRoute) => void;
  log: Logger;
}

export class ReadRouter {
  constructor(private readonly deps: ReadRouterDeps) {}

  /** The reads (and write mark) of one GraphQL operation by `userId`; replicas stay closed until `allowReplica`. */
  forOperation(userId: string | null): OperationReads {
    return new OperationReads(this.deps, userId);
  }
}

export class OperationReads {
  private replicaAllowed = false;
  /** One of the operation's reads was answered by a replica (which may lag behind the primary). */
  usedReplica = false;
  private route: Promise<{ replica: Replica | null; why: ReadRoute }> | null = null;

  constructor(
    private readonly deps: ReadRouterDeps,
    private readonly userId: string | null,
  ) {}

  /** The operation is a query: it writes nothing, so its lag-tolerant reads may use a replica. */
  allowReplica(): void {
    this.replicaAllowed = true;
  }

  /** The operation may have written for its viewer: their next reads must see it (src/db/write-marks.ts). */
  async wrote(): Promise<void> {
    if (!this.userId || !this.deps.marks) return;
    await this.deps.marks.record(this.userId).catch((err) =>
      // Their next lag-tolerant reads may then miss this write, for at most the replica's lag.
      this.deps.log.warn({ err: (err as Error).message }, 'could not record a write mark'),
    );
  }

  /** Runs `read`, a read that tolerates lag, on a replica when the rules above allow, else on the primary. */
  async lagTolerant<T>(read: (db: Db) => Promise<T>): Promise<T> {
    const { primary, replicas, counted } = this.deps;
    if (!replicas) return read(primary);
    this.route ??= this.choose(replicas);
    const { replica, why } = await this.route;
    if (!replica) {
      counted?.(why);
      return read(primary);
    }
    try {
      const result = await read(replica.prisma);
      this.usedReplica = true;
      counted?.('replica');
      return result;
    } catch (err) {
      // An expected failure (bad input) would fail on the primary too.
      if (err instanceof AppError) throw err;
      replicas.failed(replica, err);
      this.route = Promise.resolve({ replica: null, why: 'replica_failed' });
      counted?.('replica_failed');
      return read(primary);
    }
  }

  private async choose(replicas: ReplicaSet): Promise<{ replica: Replica | null; why: ReadRoute }> {
    if (!this.replicaAllowed) return { replica: null, why: 'writing' };
    let mark = 0n;
    if (this.userId && this.deps.marks) {
      try {
        mark = await this.deps.marks.of(this.userId);
      } catch {
        return { replica: null, why: 'own_write' };
      }
    }
    const replica = replicas.pick(mark);
    if (replica) return { replica, why: 'replica' };
    // Distinguish "all behind this user's write" from "none usable at all".
    return { replica: null, why: mark > 0n && replicas.pick(0n) ? 'own_write' : 'no_replica' };
  }
}
