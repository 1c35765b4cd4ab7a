/**
 * The lean POST path (src/http/graphql-post.ts) answers as yoga does. A request with an Origin
 * header always goes through yoga, so the same request with and without one compares the two.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApp, signUp, startApp, type TestUser } from '../helpers/harness.js';

let api: RunningApp;
let user: TestUser;
beforeAll(async () => {
  api = await startApp();
  user = await signUp(api.graphqlUrl);
});
afterAll(() => api.stop());

interface Answer {
  status: number;
  type: string | null;
  body: unknown;
}

async function post(body: string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(api.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: JSON.parse(text) };
}

/** The same request through the lean path and through yoga. */
async function both(body: string, headers: Record<string, string> = {}) {
  return {
    lean: await post(body, headers),
    yoga: await post(body, { ...headers, origin: 'http://app.example.test' }),
  };
}

/** How many GraphQL HTTP requests each handler took, from /metrics. */
async function handled(): Promise<{ lean: number; yoga: number }> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const count = (handler: string) =>
    Number(new RegExp(`^dawg_graphql_http_requests_total\\{handler="${handler}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { lean: count('lean'), yoga: count('yoga') };
}

const op = (query: string, variables: Record<string, unknown> = {}) => JSON.stringify({ query, variables });
const ACCEPTS: Record<string, string>[] = [
  {},
  { accept: 'application/json' },
  { accept: 'application/graphql-response+json, application/json;q=0.9' },
  { accept: '*/*' },
];

describe('lean GraphQL POST path', () => {
  // name, body, with a token, taken by the lean path
  const cases: [string, () => string, boolean, boolean][] = [
    ['a query', () => op('{ __typename }'), false, true],
    ['a query as the viewer', () => op('{ me { id email role } }'), true, true],
    ['a query without a token (UNAUTHENTICATED)', () => op('{ me { id } }'), false, true],
    ['a NOT_FOUND error', () => op('query($id: ID!) { conversation(id: $id) { id } }', { id: randomUUID() }), true, true],
    [
      'a variable of the wrong type',
      () => op('query($f: Int) { conversations(first: $f) { edges { cursor } } }', { f: 'x' }),
      true,
      true,
    ],
    [
      'a bad page size (BAD_USER_INPUT from a resolver)',
      () => op('{ conversations(first: -1) { edges { cursor } } }'),
      true,
      true,
    ],
    ['a parse error', () => op('{ me {'), true, false],
    ['a validation error', () => op('{ nope }'), true, false],
    ['a body that is not JSON', () => '{"query": ', true, false],
    ['a body without a query', () => JSON.stringify({ variables: {} }), true, false],
    ['a subscription over plain POST', () => op('subscription { userGenerations { percent } }'), true, false],
  ];
  for (const [name, body, authed, isLean] of cases) {
    it(`answers ${name} exactly as yoga does, for every Accept`, async () => {
      for (const accept of ACCEPTS) {
        const headers = { ...accept, ...(authed ? { authorization: `Bearer ${user.token}` } : {}) };
        const before = await handled();
        const { lean, yoga } = await both(body(), headers);
        expect(lean, JSON.stringify(accept)).toEqual(yoga);
        const after = await handled();
        // The request without Origin took the lean path (or was handed to yoga); the other took yoga.
        expect(after.lean - before.lean, `${JSON.stringify(accept)}: lean`).toBe(isLean ? 1 : 0);
        expect(after.yoga - before.yoga, `${JSON.stringify(accept)}: yoga`).toBe(isLean ? 1 : 2);
      }
    });
  }

  it('leaves other Accept types, GET and other content types to yoga', async () => {
    const before = await handled();
    for (const accept of ['text/event-stream', 'multipart/mixed']) {
      const res = await fetch(api.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: op('{ __typename }'),
      });
      expect(await res.text()).toContain('"__typename":"Query"');
    }
    await fetch(`${api.graphqlUrl}?query=${encodeURIComponent('{ __typename }')}`);
    await fetch(api.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/graphql' }, body: '{ __typename }' });
    const after = await handled();
    expect(after.lean - before.lean).toBe(0);
    expect(after.yoga - before.yoga).toBe(4);
  });

  it('runs a mutation once, with the same answer shape as yoga', async () => {
    const create = op(
      'mutation($t: String) { createConversation(title: $t) { title messages(first: 1) { edges { cursor } } } }',
      {
        t: 'lean',
      },
    );
    const { lean, yoga } = await both(create, { authorization: `Bearer ${user.token}` });
    expect(lean).toEqual(yoga);
    const list = await post(op('{ conversations(first: 50) { edges { node { title } } } }'), {
      authorization: `Bearer ${user.token}`,
    });
    expect(list.body).toEqual({ data: { conversations: { edges: [{ node: { title: 'lean' } }, { node: { title: 'lean' } }] } } });
  });

  it('refuses an oversize body with 413 before reading it', async () => {
    const big = op(`{ __typename } # ${'x'.repeat(1024 * 1024)}`);
    const res = await fetch(api.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(res.status).toBe(413);
  });
});
