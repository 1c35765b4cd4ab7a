/**
 * Lets a finished operation's Pothos request data die young, rather than wait for a full
 * collection.
 *
 * Pothos keeps per-request data (scope-auth's RequestCache, the prisma plugin's loaders and query
 * maps, each plugin's request data) in WeakMaps keyed by the context, and those values point back at
 * the context. V8's scavenger treats a WeakMap's values as roots and only its keys as weak, so such an
 * entry keeps its young key alive through every scavenge, and with it the whole request: headers,
 * viewer, validated input, results. All of it was promoted to old space and waited for a full
 * collection (generateBeat at 200/s: nearly every context and RequestCache promoted; docs/benchmarks.md,
 * "What changed: request data freed young").
 *
 * So the context carries a key of its own for Pothos' caches (Pothos' `initContextCache`, which its
 * caches use in place of the context), and once the operation's execution is done the context lets
 * go of that key: the cached values no longer reach their key, and the scavenges after it free both.
 * Subscriptions keep theirs for their lifetime (their events run outside onExecute).
 */
import { contextCacheSymbol, initContextCache } from '@pothos/core';
import type { Plugin } from 'graphql-yoga';

export function useRequestCacheRelease(): Plugin {
  return {
    onContextBuilding: ({ extendContext }) => extendContext(initContextCache() as object),
    onExecute: ({ args }) => ({
      // Any Pothos lookup after this (none in this codebase) would key on the context itself again.
      onExecuteDone: () => {
        (args.contextValue as object as Record<symbol, unknown>)[contextCacheSymbol] = undefined;
      },
    }),
  };
}
