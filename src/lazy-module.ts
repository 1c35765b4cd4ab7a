/**
 * A module that only a configured feature needs (an AI provider's SDK, the S3 client, the OTLP
 * exporter) is imported when that feature is set up, not when the process starts: a process that
 * does not use it neither loads it nor holds its code in memory (openai and @anthropic-ai/sdk are
 * about 5 MB of heap each, the S3 client 6 MB; docs/benchmarks.md, fan-out memory).
 *
 * The import starts at once; each use awaits the same promise. A failed import is thrown to each use
 * (a provider's failure, which the router falls back from), never as an unhandled rejection at start.
 */
export function importForFeature<T>(load: () => Promise<T>): Promise<T> {
  const loaded = load();
  loaded.catch(() => {});
  return loaded;
}
