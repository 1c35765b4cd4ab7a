/**
 * The cost-in-flight gate (src/graphql/cost-in-flight.ts) on its own: a yoga with the operation
 * limits (which measure each operation's cost) and the gate, over a schema whose fields record how
 * many of their resolvers run at once.
 */
import { GraphQLInt, GraphQLObjectType, GraphQLSchema } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { HOLD, useCostInFlight } from '../../src/graphql/cost-in-flight.js';
import { useOperationLimits } from '../../src/graphql/limits.js';

const RUN_MS = 30;

function setup(capacity: number) {
  let active = 0;
  let most = 0;
  const slow = {
    type: GraphQLInt,
    resolve: async () => {
      most = Math.max(most, ++active);
      await new Promise((r) => setTimeout(r, RUN_MS));
      active--;
      return 1;
    },
  };
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { slow } }),
    mutation: new GraphQLObjectType({ name: 'Mutation', fields: { slow } }),
  });
  const limits = { maxDepth: 10, maxAliases: 15, maxTokens: 2000, maxDirectives: 50, maxCost: 1000 };
  const yoga = createYoga({
    schema,
    plugins: [useOperationLimits(limits, schema), useCostInFlight(capacity) as Plugin],
    // subjectOf: a viewer's id, else the client IP.
    context: ({ request }) => ({ viewer: { id: request.headers.get('x-user') }, clientIp: null }),
  });
  const run = async (user: string, query = '{ slow }') => {
    const res = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user': user },
      body: JSON.stringify({ query }),
    });
    return (await res.json()) as { data?: unknown; errors?: unknown };
  };
  return { run, most: () => most };
}

describe('cost in flight per caller', () => {
  it("runs one caller's queries that do not fit one at a time, each held HOLD times as long again as it ran", async () => {
    const { run, most } = setup(1);
    const started = performance.now();
    const results = await Promise.all([run('a'), run('a'), run('a')]);
    for (const r of results) expect(r).toEqual({ data: { slow: 1 } });
    expect(most()).toBe(1);
    // Three runs and the two holds between them.
    expect(performance.now() - started).toBeGreaterThanOrEqual((3 + 2 * HOLD) * RUN_MS - 10);
  });

  it("does not make one caller wait for another's queries", async () => {
    const { run, most } = setup(1);
    await Promise.all([run('a'), run('b'), run('c')]);
    expect(most()).toBe(3);
  });

  it('runs cheap queries of one caller side by side while they fit', async () => {
    const { run, most } = setup(100);
    await Promise.all([run('a'), run('a'), run('a')]);
    expect(most()).toBe(3);
  });

  it('leaves mutations alone', async () => {
    const { run, most } = setup(1);
    const results = await Promise.all([1, 2, 3].map(() => run('a', 'mutation { slow }')));
    for (const r of results) expect(r).toEqual({ data: { slow: 1 } });
    expect(most()).toBe(3);
  });
});
