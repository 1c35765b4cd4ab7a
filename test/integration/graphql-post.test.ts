/**
 * The lean POST path (src/http/graphql-post.ts) answers as yoga does: the same requests go to an
 * app with it and to one without it (GRAPHQL_LEAN_POST=false), and the answers must match in
 * status, content type, CORS headers and body.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApp, signUp, startApp, type TestUser } from '../helpers/harness.js';

const ALLOWED = 'http://app.example.test';
let lean: RunningApp;
let plain: RunningApp;
let user: TestUser;
beforeAll(async () => {
  lean = await startApp({ CORS_ORIGINS: ALLOWED });
  plain = await startApp({ CORS_ORIGINS: ALLOWED, GRAPHQL_LEAN_POST: 'false' });
  user = await signUp(lean.graphqlUrl);
});
afterAll(async () => {
  await lean.stop();
  await plain.stop();
});

const SHOWN = ['content-type', 'access-control-allow-origin', 'access-control-allow-credentials', 'vary'];

async function post(app: RunningApp, body: string, headers: Record<string, string>) {
  const res = await fetch(app.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  return {
    status: res.status,
    headers: Object.fromEntries(SHOWN.map((h) => [h, res.headers.get(h)])),
    body: JSON.parse(text) as unknown,
  };
}

/** How many GraphQL HTTP requests each handler of the lean app took, from /metrics. */
async function handled(): Promise<{ lean: number; yoga: number }> {
  const text = await (await fetch(`${lean.url}/metrics`)).text();
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
const ORIGINS: Record<string, string>[] = [{}, { origin: ALLOWED }, { origin: 'http://elsewhere.example.test' }];

describe('lean GraphQL POST path', () => {
  // name, body, with a token, who answers: the lean path, yoga, or the HTTP front stage (src/http/front.ts)
  type Handler = 'lean' | 'yoga' | 'front';
  const cases: [string, () => string, boolean, Handler | boolean][] = [
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
    ['a body that is not JSON (400)', () => '{"query": ', true, 'front'],
    ['an empty body (400)', () => '', true, 'front'],
    ['a body without a query', () => JSON.stringify({ variables: {} }), true, false],
    // Handed to yoga as a stream again (src/http/graphql-post.ts, toYoga), not as the parsed value.
    ['an empty JSON object', () => '{}', true, false],
    ['a batch (a JSON array)', () => JSON.stringify([{ query: '{ __typename }' }]), true, false],
    ['a JSON string', () => JSON.stringify('{ __typename }'), true, false],
    ['JSON null', () => 'null', true, false],
    ['a subscription over plain POST', () => op('subscription { userGenerations { percent } }'), true, false],
  ];
  for (const [name, body, authed, isLean] of cases) {
    it(`answers ${name} as yoga does, for every Accept and Origin`, async () => {
      for (const accept of ACCEPTS) {
        for (const origin of ORIGINS) {
          const headers = { ...accept, ...origin, ...(authed ? { authorization: `Bearer ${user.token}` } : {}) };
          const label = JSON.stringify(headers);
          const before = await handled();
          const sent = body();
          const answer = await post(lean, sent, headers);
          const after = await handled();
          expect(answer, label).toEqual(await post(plain, sent, headers));
          const by: Handler = isLean === 'front' ? 'front' : isLean ? 'lean' : 'yoga';
          if (by === 'front') expect(answer.status, label).toBe(400);
          expect(after.lean - before.lean, `${label}: lean`).toBe(by === 'lean' ? 1 : 0);
          expect(after.yoga - before.yoga, `${label}: yoga`).toBe(by === 'yoga' ? 1 : 0);
        }
      }
    });
  }

  it('leaves other Accept types, GET and other content types to yoga', async () => {
    const before = await handled();
    for (const accept of ['text/event-stream', 'multipart/mixed']) {
      const res = await fetch(lean.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: op('{ __typename }'),
      });
      expect(await res.text()).toContain('"__typename":"Query"');
    }
    await fetch(`${lean.graphqlUrl}?query=${encodeURIComponent('{ __typename }')}`);
    await fetch(lean.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/graphql' }, body: '{ __typename }' });
    const after = await handled();
    expect(after.lean - before.lean).toBe(0);
    expect(after.yoga - before.yoga).toBe(4);
  });

  it('runs a mutation once, with the answer yoga gives', async () => {
    const create = op(
      'mutation($t: String) { createConversation(title: $t) { title messages(first: 1) { edges { cursor } } } }',
      {
        t: 'lean',
      },
    );
    const headers = { authorization: `Bearer ${user.token}`, origin: ALLOWED };
    expect(await post(lean, create, headers)).toEqual(await post(plain, create, headers));
    const list = await post(lean, op('{ conversations(first: 50) { edges { node { title } } } }'), headers);
    expect(list.body).toEqual({ data: { conversations: { edges: [{ node: { title: 'lean' } }, { node: { title: 'lean' } }] } } });
  });

  it('refuses an oversize body with 413 before reading it', async () => {
    const big = op(`{ __typename } # ${'x'.repeat(1024 * 1024)}`);
    const res = await fetch(lean.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(res.status).toBe(413);
    // The same without a content-length (chunked): refused while reading.
    const { request } = await import('node:http');
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(lean.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' } }, (r) => {
        r.resume();
        resolve(r.statusCode);
      });
      req.on('error', reject);
      req.write(big.slice(0, 600_000));
      req.end(big.slice(600_000));
    });
    expect(status).toBe(413);
  });
});
