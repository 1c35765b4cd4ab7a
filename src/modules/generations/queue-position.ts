/**
 * Where a queued generation stands: `position` (how many queued generations go before it, in the
 * queue's order: priority, then when queued; src/modules/generations/queue-order.ts) and an
 * estimated start from measured job durations and the worker slots taking jobs now. The measured
 * figures are read at most every STATS_TTL_MS per api process; the position is counted per request.
 */
import type { Queue } from 'bullmq';
import type { Db } from '../../db/client.js';
import type { Generation } from '../../generated/prisma/client.js';

const STATS_TTL_MS = 10_000;
/** How many recent finished jobs the mean duration is taken over. */
const RECENT_JOBS = 100;

interface QueueStats {
  /** Mean run time of recent finished generations, seconds (null before any finished). */
  meanJobSec: number | null;
  /** Worker slots taking jobs: connected BullMQ workers × WORKER_CONCURRENCY. */
  slots: number;
  /** Generations running now. */
  running: number;
}

export class QueuePosition {
  private stats: { at: number; value: Promise<QueueStats> } | null = null;

  constructor(private readonly deps: { prisma: Db; queue: Pick<Queue, 'getWorkersCount'>; workerConcurrency: number }) {}

  /**
   * Counted once per row object: `queuePosition` and `estimatedStartSec` resolve on the same row (a
   * query's, or an event's shared by its subscribers), and both need the count.
   */
  private readonly counted = new WeakMap<object, Promise<number | null>>();

  /** How many queued generations go before `g`; null when it is not waiting in the queue. */
  position(g: Pick<Generation, 'status' | 'priority' | 'queuedAt' | 'startedAt'>): Promise<number | null> {
    let count = this.counted.get(g);
    if (!count) {
      count = this.count(g);
      this.counted.set(g, count);
    }
    return count;
  }

  private async count(g: Pick<Generation, 'status' | 'priority' | 'queuedAt' | 'startedAt'>): Promise<number | null> {
    if (g.status !== 'PENDING') return null;
    return this.deps.prisma.generation.count({
      where: {
        status: 'PENDING',
        OR: [{ priority: { lt: g.priority } }, { priority: g.priority, queuedAt: { lt: g.queuedAt } }],
      },
    });
  }

  /**
   * Seconds until `g` should start: 0 while a slot is free for it; else its turn among the slots,
   * each job taking the recent mean, the running ones half done on average. Null when it is not
   * queued, when no worker is taking jobs, or before any job has finished to measure.
   */
  async estimatedStartSec(g: Pick<Generation, 'status' | 'priority' | 'queuedAt' | 'startedAt'>): Promise<number | null> {
    const position = await this.position(g);
    if (position === null) return null;
    const { meanJobSec, slots, running } = await this.currentStats();
    if (!slots || meanJobSec === null) return null;
    const free = Math.max(0, slots - running);
    if (position < free) return 0;
    return Math.round(((position - free) / slots + 0.5) * meanJobSec * 10) / 10;
  }

  private currentStats(): Promise<QueueStats> {
    if (!this.stats || Date.now() - this.stats.at > STATS_TTL_MS) {
      const value = this.readStats();
      this.stats = { at: Date.now(), value };
      value.catch(() => {
        this.stats = null;
      });
    }
    return this.stats.value;
  }

  private async readStats(): Promise<QueueStats> {
    const [recent, running, workers] = await Promise.all([
      this.deps.prisma.generation.findMany({
        where: { status: 'COMPLETED', durationMs: { not: null } },
        orderBy: { completedAt: 'desc' },
        take: RECENT_JOBS,
        select: { durationMs: true },
      }),
      this.deps.prisma.generation.count({ where: { status: 'PROCESSING' } }),
      this.deps.queue.getWorkersCount().catch(() => 0),
    ]);
    const meanJobSec = recent.length ? recent.reduce((n, r) => n + (r.durationMs ?? 0), 0) / recent.length / 1000 : null;
    return { meanJobSec, slots: workers * this.deps.workerConcurrency, running };
  }
}
