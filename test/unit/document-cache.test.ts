import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { boundedParserCache, MAX_CACHED_CHARS } from '../../src/graphql/document-cache.js';

describe("yoga's parse cache, bounded", () => {
  it('keeps documents and errors of ordinary size', () => {
    const { documentCache, errorCache } = boundedParserCache();
    const query = '{ me { id } }';
    documentCache.set(query, parse(query));
    errorCache.set('{', new Error('Syntax Error'));
    expect(documentCache.get(query)?.kind).toBe('Document');
    expect(errorCache.get('{')?.message).toBe('Syntax Error');
  });

  it('never holds a document longer than the bound, whose key alone could be a megabyte', () => {
    const { documentCache, errorCache } = boundedParserCache();
    const huge = `{ project(id: "${'x'.repeat(MAX_CACHED_CHARS)}") { id } }`;
    documentCache.set(huge, parse(huge));
    errorCache.set(huge, new Error('NOT_FOUND'));
    expect(documentCache.get(huge)).toBeUndefined();
    expect(errorCache.get(huge)).toBeUndefined();
  });
});
