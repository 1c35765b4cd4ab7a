import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import type { TableChanges } from '../../src/db/table-changes.js';
import { ResponseCache, useResponseCache } from '../../src/graphql/response-cache.js';
import { schema } from '../../src/graphql/schema.js';

// The cache's view of the database's notifications: live, nothing written since epoch 0.
const changes = { epoch: 0, live: true, bump() {} } as unknown as TableChanges;
const cache = new ResponseCache({ changes, maxEntries: 10, maxBytes: 1024 * 1024, ttlMs: 60_000, schema });

describe("a hit's answer as text", () => {
  const data = { conversations: { edges: [{ node: { id: 'Q29udmVyc2F0aW9uOjE=', title: 'ünïcode ♪ "q" \\ \u2028' } }] } };
  cache.set('viewer\n0:\n{}', 0, data);

  it('is JSON.stringify of the answer, from the text made when it was kept', () => {
    expect(cache.answerText({ data })).toBe(JSON.stringify({ data }));
  });

  it('is not given for anything else: other data, an answer with errors or extensions, or more fields', () => {
    expect(cache.answerText({ data: structuredClone(data) })).toBeUndefined();
    expect(cache.answerText({ data, errors: [] })).toBeUndefined();
    expect(cache.answerText({ data, extensions: { cost: 1 } })).toBeUndefined();
    expect(cache.answerText({ data, label: 'x' } as { data: unknown })).toBeUndefined();
    expect(cache.answerText({ data, errors: undefined })).toBeUndefined();
    expect(cache.answerText({ data: null })).toBeUndefined();
    expect(cache.answerText({})).toBeUndefined();
  });

  it('is not kept for data the cache refused: written since the execution began, or too large', () => {
    const late = { me: { id: 'VXNlcjox' } };
    cache.set('viewer\n1:\n{}', -1, late);
    expect(cache.answerText({ data: late })).toBeUndefined();
    const huge = { me: { id: 'x'.repeat(100_000) } };
    cache.set('viewer\n2:\n{}', 0, huge);
    expect(cache.answerText({ data: huge })).toBeUndefined();
  });
});

describe('a cached answer inside the execution wrappers', () => {
  it('is given where the execution runs: a plugin after the cache that wraps the execution sees the hit too', async () => {
    let resolved = 0;
    const wrapped: string[] = [];
    const tiny = createSchema<{ viewer: { id: string }; reads: { usedReplica: boolean } }>({
      typeDefs: 'type Query { me: User } type User { id: ID }',
      resolvers: { Query: { me: () => ({ id: String(++resolved) }) } },
    });
    const own = new ResponseCache({ changes, maxEntries: 10, maxBytes: 1024 * 1024, ttlMs: 60_000, schema: tiny });
    // As the cost in flight and the operation's span do (src/graphql/pipeline.ts puts them after the cache).
    const wrapper: Plugin = {
      onExecute: ({ executeFn, setExecuteFn }) => {
        setExecuteFn(async (args) => {
          wrapped.push('before');
          const result = await executeFn(args);
          wrapped.push('after');
          return result;
        });
      },
    };
    const yoga = createYoga({
      schema: tiny,
      plugins: [useResponseCache(own) as Plugin, wrapper],
      context: () => ({ viewer: { id: 'u1' }, reads: { usedReplica: false } }),
    });
    const ask = async () =>
      (
        await yoga.fetch('http://yoga/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ me { id } }' }),
        })
      ).json();
    expect(await ask()).toEqual({ data: { me: { id: '1' } } });
    expect(await ask()).toEqual({ data: { me: { id: '1' } } });
    expect(resolved).toBe(1);
    expect(wrapped).toEqual(['before', 'after', 'before', 'after']);
  });
});
