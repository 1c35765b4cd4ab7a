/**
 * useRequestCacheRelease (src/graphql/request-caches.ts): during an operation Pothos' request caches
 * key on the context's own cache key, shared by every resolver of the operation; once its execution
 * is done the context no longer holds that key, so a cached value that points back at the context no
 * longer keeps its WeakMap entry, and the request, alive through scavenges.
 */
import { contextCacheSymbol, createContextCache } from '@pothos/core';
import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { useRequestCacheRelease } from '../../src/graphql/request-caches.js';

type Ctx = Record<symbol, unknown>;

describe('useRequestCacheRelease', () => {
  it('gives each operation one Pothos cache key, and drops it once the execution is done', async () => {
    // A Pothos request cache whose value points back at the context, as scope-auth's RequestCache does.
    const requestData = createContextCache((context: Ctx) => ({ context }));
    const seen: { context: Ctx; key: unknown; data: unknown }[] = [];
    const resolve = (_: unknown, __: unknown, context: Ctx) => {
      seen.push({ context, key: context[contextCacheSymbol], data: requestData(context) });
      return 'ok';
    };
    const yoga = createYoga({
      schema: createSchema({ typeDefs: 'type Query { a: String, b: String }', resolvers: { Query: { a: resolve, b: resolve } } }),
      plugins: [useRequestCacheRelease()],
      logging: false,
    });
    const ask = () =>
      yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ a b }' }),
      });
    expect(await (await ask()).json()).toEqual({ data: { a: 'ok', b: 'ok' } });
    await ask();

    const [a, b, c] = seen;
    if (!a || !b || !c) throw new Error('resolvers did not run');
    // One operation: one key object, one request data for both fields.
    expect(a.key).toBeTypeOf('object');
    expect(b.key).toBe(a.key);
    expect(b.data).toBe(a.data);
    // The next operation: its own key and data.
    expect(c.key).not.toBe(a.key);
    expect(c.data).not.toBe(a.data);
    // Done: the contexts hold the keys no more.
    expect(a.context[contextCacheSymbol]).toBeUndefined();
    expect(c.context[contextCacheSymbol]).toBeUndefined();
  });
});
