/**
 * A module that only a configured feature needs (an AI provider's SDK, the S3 client) is imported
 * when that feature is set up, not when the process starts: a process that does not use it neither
 * loads it nor holds its code in memory (openai and @anthropic-ai/sdk are about 5 MiB of heap each,
 * the S3 client 6 MiB; docs/benchmarks.md, "the api's memory with 10,000 sockets").
 *
 * The import starts at once; each use awaits the same promise. A failed import (a broken install)
 * fails the process's start, as a static import would have: `featureModulesLoaded` is awaited by the
 * api's and the worker's start. It is never an unhandled rejection.
 */
/** Imports not yet loaded, and those that failed (a loaded one is dropped: its user holds it). */
const pending = new Set<Promise<unknown>>();

export function importForFeature<T>(load: () => Promise<T>): Promise<T> {
  const loaded = load();
  pending.add(loaded);
  loaded.then(
    () => pending.delete(loaded),
    () => {},
  );
  return loaded;
}

/** Resolves once every feature module imported so far has loaded; rejects with the first failure. */
export async function featureModulesLoaded(): Promise<void> {
  await Promise.all(pending);
}
