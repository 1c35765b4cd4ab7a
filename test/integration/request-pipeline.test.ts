/**
 * One request pipeline (src/graphql/pipeline.ts, src/http/front.ts): each policy holds on each
 * transport. Transports: POST through the lean path, POST through yoga (GRAPHQL_LEAN_POST=false),
 * GET, and graphql-ws. Policies: operation limits, error codes and masking, rate limits, metrics,
 * Pothos' request caches let go once an operation is done;
 * CSRF and the body limit for both HTTP handlers (graphql-ws has neither a form nor a body).
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { contextCacheSymbol } from '@pothos/core';
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { envelopOnly } from '../../src/graphql/pipeline.js';
import { schema } from '../../src/graphql/schema.js';
import { codes, type GqlResponse, gql, type RunningApp, signUp, startApp, type TestUser, wsClient } from '../helpers/harness.js';

type Transport = 'POST lean' | 'POST yoga' | 'GET' | 'graphql-ws';
const TRANSPORTS: Transport[] = ['POST lean', 'POST yoga', 'GET', 'graphql-ws'];

/** One app per HTTP handler, and the same pair for other settings. */
interface Pair {
  lean: RunningApp;
  yoga: RunningApp;
}
const pair = async (env: Record<string, string> = {}): Promise<Pair> => ({
  lean: await startApp(env),
  yoga: await startApp({ ...env, GRAPHQL_LEAN_POST: 'false' }),
});
const stopPair = async (p: Pair) => {
  await p.lean.stop();
  await p.yoga.stop();
};

async function run(
  p: Pair,
  transport: Transport,
  query: string,
  variables: Record<string, unknown>,
  token: string,
): Promise<GqlResponse> {
  const auth = { authorization: `Bearer ${token}` };
  if (transport === 'GET') {
    const url = `${p.lean.graphqlUrl}?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify(variables))}`;
    const res = await fetch(url, { headers: { accept: 'application/json', ...auth } });
    return { ...((await res.json()) as GqlResponse), status: res.status };
  }
  if (transport === 'graphql-ws') {
    const { client } = wsClient(p.lean.wsUrl, token);
    try {
      return await new Promise((resolve) => {
        let last: GqlResponse = { status: 0 };
        client.subscribe(
          { query, variables },
          {
            next: (value) => {
              last = { ...(value as GqlResponse), status: 0 };
            },
            // Refused before execution: graphql-ws sends an `error` message with the errors.
            error: (errors) => resolve({ status: 0, errors: Array.isArray(errors) ? errors : [errors as never] }),
            complete: () => resolve(last),
          },
        );
      });
    } finally {
      await client.dispose();
    }
  }
  const app = transport === 'POST lean' ? p.lean : p.yoga;
  const res = await fetch(app.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...auth },
    body: JSON.stringify({ query, variables }),
  });
  return { ...((await res.json()) as GqlResponse), status: res.status };
}

/** The count of a metric series on an app's /metrics, 0 when absent. */
async function metric(app: RunningApp, series: string): Promise<number> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

let apps: Pair;
let user: TestUser;
beforeAll(async () => {
  apps = await pair();
  user = await signUp(apps.lean.graphqlUrl);
});
afterAll(async () => {
  await stopPair(apps);
});

const DEEP = `query($id: ID!) { conversation(id: $id) { messages(first: 1) { edges { node { conversation {
  messages(first: 1) { edges { node { conversation { messages(first: 1) { edges { node { id } } } } } } } } } } } } }`;
const COSTLY = '{ conversations(first: 100) { edges { node { messages(first: 100) { edges { node { id } } } } } } }';
const PROBE = 'query PipelineProbe { me { id } }';

/**
 * The contexts `me` resolves in while a test watches, with the Pothos cache key each held then
 * (useRequestCacheRelease, src/graphql/request-caches.ts): every transport's execution must drop it.
 */
type Watched = { context: Record<symbol, unknown>; key: unknown };
let watching: Watched[] | null = null;
const me = schema.getQueryType()?.getFields().me;
if (!me?.resolve) throw new Error('Query.me has no resolver to watch');
const resolveMe = me.resolve;
me.resolve = (source, args, context, info) => {
  watching?.push({ context, key: context[contextCacheSymbol] });
  return resolveMe(source, args, context, info);
};

describe('one pipeline for every transport', () => {
  for (const transport of TRANSPORTS) {
    it(`applies the operation limits (${transport})`, async () => {
      const id = 'Q29udmVyc2F0aW9uOjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA';
      expect(codes(await run(apps, transport, DEEP, { id }, user.token))).toEqual(['DEPTH_LIMIT_EXCEEDED']);
      expect(codes(await run(apps, transport, COSTLY, {}, user.token))).toEqual(['COST_LIMIT_EXCEEDED']);
      const aliases = `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
      expect(codes(await run(apps, transport, aliases, {}, user.token))).toEqual(['ALIAS_LIMIT_EXCEEDED']);
    });

    it(`gives every error its code, with nothing internal (${transport})`, async () => {
      const parse = await run(apps, transport, '{ me {', {}, user.token);
      expect(codes(parse)).toEqual(['GRAPHQL_PARSE_FAILED']);
      const invalid = await run(apps, transport, '{ nope }', {}, user.token);
      expect(codes(invalid)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      const badVariable = await run(
        apps,
        transport,
        'query($f: Int) { conversations(first: $f) { edges { cursor } } }',
        { f: 'x' },
        user.token,
      );
      expect(codes(badVariable)).toEqual(['BAD_USER_INPUT']);
      for (const res of [parse, invalid, badVariable]) expect(JSON.stringify(res)).not.toMatch(/originalError|stack|at .*\.ts:/);
    });

    it(`counts operations by name in the metrics (${transport})`, async () => {
      const app = transport === 'POST yoga' ? apps.yoga : apps.lean;
      const series = 'dawg_graphql_operations_total{type="query",name="PipelineProbe",outcome="ok"}';
      const before = await metric(app, series);
      const res = await run(apps, transport, PROBE, {}, user.token);
      expect(res.data).toEqual({ me: { id: user.id } });
      expect(await metric(app, series)).toBe(before + 1);
    });

    it(`lets go of Pothos' request cache key once the operation is done (${transport})`, async () => {
      const resolved: Watched[] = [];
      watching = resolved;
      try {
        // Its own document per transport: the response cache does not answer it from an earlier one.
        const at = TRANSPORTS.indexOf(transport);
        const res = await run(apps, transport, `{ a${at}: me { id } b${at}: me { id } }`, {}, user.token);
        expect(res.data).toEqual({ [`a${at}`]: { id: user.id }, [`b${at}`]: { id: user.id } });
      } finally {
        watching = null;
      }
      // Both fields ran in one context, which held its own key while they resolved, and holds it no more.
      const [a, b] = resolved;
      expect(resolved).toHaveLength(2);
      expect(b?.context).toBe(a?.context);
      expect(a?.key).toBeTypeOf('object');
      expect(b?.key).toBe(a?.key);
      expect(a?.context[contextCacheSymbol]).toBeUndefined();
    });
  }

  it('applies the cost limit to a subscription over graphql-ws', async () => {
    // The lowest limit allowed (what one logIn costs), and a subscription over it: a project's tracks
    // count 100 each (the most a project holds).
    const tight = await startApp({ GRAPHQL_MAX_COST: '600' });
    try {
      const res = await run(
        { lean: tight, yoga: tight },
        'graphql-ws',
        'subscription { myGenerations { generation { project { tracks { id name gainDb pan muted position } } } } }',
        {},
        user.token,
      );
      expect(codes(res)).toEqual(['COST_LIMIT_EXCEEDED']);
    } finally {
      await tight.stop();
    }
  });

  describe('rate limits', () => {
    let limited: Pair;
    beforeAll(async () => {
      // Its own Redis prefix: the other apps' sign-ups count against 127.0.0.1 in the shared one.
      limited = await pair({
        RATE_LIMIT_PER_MINUTE: '3',
        REDIS_PREFIX: `${inject('redisPrefix')}rl${randomBytes(3).toString('hex')}:`,
      });
    });
    afterAll(async () => stopPair(limited));
    for (const transport of TRANSPORTS) {
      it(`refuses the 4th operation of a minute (${transport})`, async () => {
        const fresh = await signUp(apps.lean.graphqlUrl);
        const results = [];
        for (let i = 0; i < 4; i++) results.push(codes(await run(limited, transport, PROBE, {}, fresh.token)));
        expect(results).toEqual([[], [], [], ['RATE_LIMITED']]);
      });
    }
  });

  describe('cost budget per minute', () => {
    let budget: Pair;
    beforeAll(async () => {
      // 1,300 points a minute: three operations of 401 (1 + 100 × edges, node, id, title).
      budget = await pair({
        GRAPHQL_COST_PER_MINUTE: '1300',
        REDIS_PREFIX: `${inject('redisPrefix')}cost${randomBytes(3).toString('hex')}:`,
      });
    });
    afterAll(async () => stopPair(budget));
    const HEAVY = '{ conversations(first: 100) { edges { node { id title } } } }';
    for (const transport of TRANSPORTS) {
      it(`refuses operations under the per-operation limit once their cost is spent (${transport})`, async () => {
        const fresh = await signUp(apps.lean.graphqlUrl);
        const results = [];
        for (let i = 0; i < 5; i++) results.push(codes(await run(budget, transport, HEAVY, {}, fresh.token)));
        expect(results).toEqual([[], [], [], ['RATE_LIMITED'], ['RATE_LIMITED']]);
      });
    }
  });

  describe('error masking', () => {
    let broken: Pair;
    beforeAll(async () => {
      // A database that does not exist: every query fails inside Prisma, with details to hide.
      broken = await pair({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/dawg_pipeline_missing_db' });
    });
    afterAll(async () => stopPair(broken));
    for (const transport of TRANSPORTS) {
      it(`masks an unexpected error as INTERNAL_SERVER_ERROR (${transport})`, async () => {
        const res = await run(broken, transport, '{ conversations(first: 1) { edges { cursor } } }', {}, user.token);
        expect(codes(res)).toEqual(['INTERNAL_SERVER_ERROR']);
        expect(JSON.stringify(res)).not.toMatch(/dawg_pipeline_missing_db|prisma|database/i);
      });
    }
  });
});

/** A raw HTTP POST (fetch would add its own content type to some bodies). */
function post(
  url: string,
  headers: Record<string, string>,
  chunks: (string | Buffer)[],
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('HTTP policies on both handlers', () => {
  for (const handler of ['lean', 'yoga'] as const) {
    const app = () => apps[handler];
    const usersNamed = async (email: string) =>
      Number(
        (
          (await app().app.prisma.$queryRawUnsafe('SELECT count(*)::int AS n FROM users WHERE email = $1', email)) as {
            n: number;
          }[]
        )[0]?.n,
      );

    it(`refuses CSRF-able POSTs: form, multipart and text/plain run nothing (${handler})`, async () => {
      const email = `csrf-${randomBytes(4).toString('hex')}@example.test`;
      const query = `mutation { signUp(email: "${email}", password: "correct horse battery") { token } }`;
      const form = await post(app().graphqlUrl, { 'content-type': 'application/x-www-form-urlencoded' }, [
        `query=${encodeURIComponent(query)}`,
      ]);
      expect(form.status).toBe(403);
      const text = await post(app().graphqlUrl, { 'content-type': 'text/plain' }, [JSON.stringify({ query })]);
      expect(text.status).toBe(403);
      const boundary = 'dawgboundary';
      const multipart = (operations: string) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}\r\n--${boundary}--\r\n`;
      const type = `multipart/form-data; boundary=${boundary}`;
      expect((await post(app().graphqlUrl, { 'content-type': type }, [multipart(JSON.stringify({ query }))])).status).toBe(403);
      const noType = await post(app().graphqlUrl, {}, [JSON.stringify({ query })]);
      expect(noType.status).toBe(403);
      // GET never runs a mutation.
      const get = await fetch(`${app().graphqlUrl}?query=${encodeURIComponent(query)}`, {
        headers: { accept: 'application/json' },
      });
      expect(get.status).toBe(405);
      expect(await usersNamed(email)).toBe(0);
      // A script may send multipart with the CSRF header; with no uploads in the schema it is refused
      // as a client error, whatever its `operations` part holds (issue 16: not JSON was a 500).
      for (const operations of ['not json', JSON.stringify({ query })]) {
        const bad = await post(app().graphqlUrl, { 'content-type': type, 'x-graphql-yoga-csrf': '1' }, [multipart(operations)]);
        expect(bad.status, bad.body).toBe(415);
        expect(JSON.parse(bad.body).errors[0].extensions.code).toBe('BAD_REQUEST');
      }
      // And JSON, which a browser preflights, runs.
      const json = await post(app().graphqlUrl, { 'content-type': 'application/json' }, [JSON.stringify({ query })]);
      expect(json.status).toBe(200);
      expect(await usersNamed(email)).toBe(1);
    });

    it(`refuses bodies over the limit, declared or chunked, whatever the content type (${handler})`, async () => {
      const big = JSON.stringify({ query: `{ __typename } # ${'x'.repeat(1024 * 1024)}` });
      for (const type of ['application/json', 'application/graphql']) {
        const declared = await post(
          app().graphqlUrl,
          { 'content-type': type, 'content-length': String(Buffer.byteLength(big)) },
          [big],
        );
        expect(declared.status, type).toBe(413);
        // No content-length: chunked transfer encoding, counted while read.
        const chunked = await post(app().graphqlUrl, { 'content-type': type }, [big.slice(0, 600_000), big.slice(600_000)]);
        expect(chunked.status, `${type} chunked`).toBe(413);
      }
    });

    it(`answers an endless chunked body with 413 at the limit and closes the connection (${handler})`, async () => {
      const { hostname, port } = new URL(app().graphqlUrl);
      const socket = connect({ host: hostname, port: Number(port) });
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        `POST /graphql HTTP/1.1\r\nHost: ${hostname}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`,
      );
      let answer = '';
      socket.on('data', (d: Buffer) => {
        answer += d.toString();
      });
      socket.on('error', () => {}); // the server cuts the connection while we still send
      const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
      const chunk = `${'x'.repeat(64 * 1024).length.toString(16)}\r\n${'x'.repeat(64 * 1024)}\r\n`;
      const started = Date.now();
      // Up to 10 s of 64 KiB chunks (about 100 MB): far past the limit, unless the server hangs up.
      while (!socket.destroyed && Date.now() - started < 10_000) {
        if (!socket.write(chunk)) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const closedAt = await closed;
      expect(answer).toMatch(/^HTTP\/1\.1 413/);
      expect(closedAt - started).toBeLessThan(5_000);
    });

    it(`answers GET variables or extensions that are not JSON objects with 400 (${handler})`, async () => {
      for (const [name, value] of [
        ['variables', '{nope'],
        ['extensions', '[[['],
        ['variables', '"text"'],
      ]) {
        const res = await fetch(
          `${app().graphqlUrl}?query=${encodeURIComponent('{ me { id } }')}&${name}=${encodeURIComponent(value as string)}`,
          {
            headers: { accept: 'application/json' },
          },
        );
        expect(res.status, `${name}=${value}`).toBe(400);
        expect(((await res.json()) as GqlResponse).errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
      }
    });

    it(`refuses subscriptions over server-sent events, which no socket limit would bound (${handler})`, async () => {
      const created = await gql(app().graphqlUrl, 'mutation { createConversation(title: "sse") { id } }', {}, user.token);
      const id = created.data?.createConversation.id as string;
      const query = `subscription { messageAdded(conversationId: "${id}") { id } }`;
      const channels = () => app().app.redis.pubsub('CHANNELS', `${inject('redisPrefix')}*`) as Promise<string[]>;
      const auth = { authorization: `Bearer ${user.token}`, accept: 'text/event-stream' };
      const answers = [
        await fetch(app().graphqlUrl, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ query }),
          signal: AbortSignal.timeout(5_000),
        }),
        await fetch(`${app().graphqlUrl}?query=${encodeURIComponent(query)}`, {
          headers: auth,
          signal: AbortSignal.timeout(5_000),
        }),
      ];
      for (const res of answers) {
        const text = await res.text(); // the stream ends after the error: nothing is held open
        expect(text).toContain('BAD_REQUEST');
        expect(text).toContain('graphql-ws');
      }
      const uuid = Buffer.from(id, 'base64').toString('utf8').split(':')[1] as string;
      expect((await channels()).filter((c) => c.includes(uuid))).toEqual([]);
    });

    it(`answers a JSON body that does not parse with 400 (${handler})`, async () => {
      const res = await post(app().graphqlUrl, { 'content-type': 'application/json', accept: 'application/json' }, [
        '{"query": ',
      ]);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).errors[0].extensions.code).toBe('BAD_REQUEST');
    });
  }
});

describe('pipeline guard', () => {
  it('refuses a plugin whose hook only yoga’s HTTP handler would run', () => {
    for (const hook of ['onRequest', 'onRequestParse', 'onParams', 'onResultProcess', 'onResponse', 'onExecutionResult']) {
      const plugin = { [hook]: () => {} } as Plugin;
      expect(() => envelopOnly([{ onExecute: () => {} }, plugin]), hook).toThrow(
        new RegExp(`uses ${hook}.*lean POST path and graphql-ws`),
      );
    }
    const ok: Plugin[] = [
      { onParse: () => {}, onValidate: () => {}, onContextBuilding: () => {}, onExecute: () => {}, onSubscribe: () => {} },
    ];
    expect(envelopOnly(ok)).toBe(ok);
  });
});
