/**
 * yoga's parse cache, bounded by what a hostile client can put in it. yoga keys parsed documents and
 * parse errors by the whole query string, 1,024 of each for an hour. The body limit lets a query be
 * 1 MiB (e.g. a 1 MB string literal within the token limit), so unchanged it could hold ~2 GiB:
 * the fuzzer's 1 MB strings grew the api's RSS by a third per pass. Documents longer than
 * MAX_CACHED_CHARS are parsed every time instead (still within the token limit); real clients'
 * operations, GraphiQL's introspection query included, are far shorter.
 */
import type { DocumentNode } from 'graphql';
import { createLRUCache } from 'graphql-yoga';

export const MAX_CACHED_CHARS = 16 * 1024;

interface Cache<T> {
  get(key: string): T | undefined;
  set(key: string, value: T): void;
}

function boundedKeys<T extends object>(): Cache<T> {
  const cache = createLRUCache<T>();
  return {
    get: (key) => (key.length > MAX_CACHED_CHARS ? undefined : cache.get(key)),
    set: (key, value) => {
      if (key.length <= MAX_CACHED_CHARS) cache.set(key, value);
    },
  };
}

/** yoga's `parserAndValidationCache` option. */
export function boundedParserCache() {
  return { documentCache: boundedKeys<DocumentNode>(), errorCache: boundedKeys<Error>(), validationCache: true };
}
