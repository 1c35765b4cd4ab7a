/**
 * Events about one generation can arrive out of order. They are published by several processes
 * (the api when it is queued, retried or cancelled; the worker as it runs; the worker's queue-moved
 * announcer from rows it read a moment before) and, on a Redis Cluster, over several connections.
 * Each event carries the row as stored, and the row's `version` counts its changes (transition adds
 * one), so of two events the one with the lower version is older: once a newer one has been passed
 * on, an older one is dropped. An event of the same version passes (a queue-moved republish of an
 * unchanged row). The order does not depend on any process's clock.
 */
import type { Generation } from '../../generated/prisma/client.js';

/** How many generations a stream remembers the newest version of (the least recently passed on is forgotten). */
const REMEMBERED = 1_000;

/** The newest version passed on, per generation. */
export class NewestVersions {
  private readonly newest = new Map<string, number>();

  /** Whether `generation` is not older than what was passed on already; if so, it is now the newest. */
  admit(generation: Pick<Generation, 'id' | 'version'>): boolean {
    const seen = this.newest.get(generation.id);
    if (seen !== undefined && generation.version < seen) return false;
    this.newest.delete(generation.id);
    this.newest.set(generation.id, generation.version);
    if (this.newest.size > REMEMBERED) this.newest.delete(this.newest.keys().next().value as string);
    return true;
  }
}

/** `events` without those older than one already passed on about the same generation. */
export async function* inGenerationOrder<T>(
  events: AsyncIterable<T>,
  generationOf: (event: T) => Pick<Generation, 'id' | 'version'> | null | undefined,
  newest = new NewestVersions(),
): AsyncGenerator<T> {
  for await (const event of events) {
    const generation = generationOf(event);
    if (!generation || newest.admit(generation)) yield event;
  }
}
