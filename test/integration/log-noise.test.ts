/**
 * Client mistakes are not server errors in the logs (issue 16, item 8): a batch of bad requests on
 * every transport (item 2's among them, and graphql-ws protocol misuse) writes 0 lines at warn level
 * or above, and the client errors are logged at debug with their code. Only the server's own faults
 * belong at error level, and they still are: once, with the stack. The fuzzer's run is held to the same rule (test/load/fuzz.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app.js';
import { TokenService } from '../../src/modules/auth/tokens.js';
import { codes, freePort, gql, signUp, type TestUser, testConfig, wsClient } from '../helpers/harness.js';
import { initSocket, rawSocket } from '../helpers/ws.js';

const lines: { level: number; msg: string; code?: string; codes?: string[] }[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
    done();
  },
});

let app: App;
let url: string;
let user: TestUser;
beforeAll(async () => {
  app = buildApp(testConfig(), { log: pino({ level: 'debug' }, sink) });
  url = await app.start();
  user = await signUp(`${url}/graphql`);
});
afterAll(async () => {
  await app.stop();
});

const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(`${url}/graphql`, { method: 'POST', headers, body }).then((r) => r.text());

describe('log levels', () => {
  it('logs no client mistake at warn level or above', async () => {
    const graphql = `${url}/graphql`;
    const start = lines.length;
    const bad: Promise<unknown>[] = [
      gql(graphql, '{ me {'),
      gql(graphql, '{ nope }'),
      gql(graphql, '{ conversations(first: 1) { edges { cursor } } }'),
      gql(graphql, 'query($f: Int) { conversations(first: $f) { edges { cursor } } }', { f: 'x' }, user.token),
      gql(graphql, '{ conversations(first: -1) { edges { cursor } } }', {}, user.token),
      gql(graphql, 'query($id: ID!) { conversation(id: $id) { id } }', { id: randomUUID() }, user.token),
      gql(
        graphql,
        '{ conversations(first: 100) { edges { node { messages(first: 100) { edges { cursor } } } } } }',
        {},
        user.token,
      ),
      gql(graphql, `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: me { id }`).join(' ')} }`, {}, user.token),
      gql(graphql, `{ ${'... on Query { '.repeat(5000)}__typename${' }'.repeat(5000)} }`),
      gql(graphql, 'mutation { logIn(email: "nobody@example.test", password: "wrong password") { token } }'),
      gql(graphql, '{ me { id } }', {}, 'not-a-token'),
      post('{"query": '),
      post(''),
      post('[1, 2]'),
      post('query=%7B__typename%7D', { 'content-type': 'application/x-www-form-urlencoded' }),
      post('{ __typename }', { 'content-type': 'application/graphql', 'x-graphql-yoga-csrf': '1' }),
      post(JSON.stringify({ query: `{ __typename } # ${'x'.repeat(1_100_000)}` })),
      fetch(`${graphql}?query=${encodeURIComponent('mutation { createProject(name: "x") { id } }')}`),
      fetch(`${graphql}?query=${encodeURIComponent('{ me {')}`),
      // Issue 16 item 2's mistakes: a crafted cursor, NUL in a name, an empty id, a global id of an
      // unknown type, a multipart request whose operations part is not JSON.
      gql(graphql, '{ conversations(first: 5, after: "R1BDOlM6bm90YXV1aWQ=") { edges { cursor } } }', {}, user.token),
      gql(graphql, 'mutation($n: String!) { createProject(name: $n) { id } }', { n: 'a\u0000b' }, user.token),
      gql(graphql, 'mutation { createConversation(projectId: "") { id } }', {}, user.token),
      gql(
        graphql,
        'query($id: ID!) { node(id: $id) { id } }',
        { id: Buffer.from(`Nope:${randomUUID()}`).toString('base64') },
        user.token,
      ),
      post('--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\nnot json\r\n--x--\r\n', {
        'content-type': 'multipart/form-data; boundary=x',
        'x-graphql-yoga-csrf': '1',
      }),
      fetch(`${url}/nowhere`),
      fetch(`${url}/files/nothing?expires=1&signature=x`),
    ];
    await Promise.all(bad);
    // graphql-ws: a bad token, then bad operations on a good socket.
    const wsUrl = `${url.replace('http', 'ws')}/graphql`;
    const refused = wsClient(wsUrl, 'not-a-token');
    await refused.closed;
    const { client } = wsClient(wsUrl, user.token);
    for (const query of ['{ me {', '{ nope }', 'subscription { chatStream(conversationId: "x") { text } }']) {
      await new Promise<void>((resolve) => {
        client.subscribe({ query }, { next: () => {}, error: () => resolve(), complete: () => resolve() });
      });
    }
    await client.dispose();
    // Protocol mistakes on raw sockets: a frame that is not JSON (4400), a subscribe before
    // connection_init (4401), a duplicate id (4409).
    const garbage = await initSocket(wsUrl, user.token);
    garbage.send('this is not json');
    expect(await garbage.closed).toBe(4400);
    const early = await rawSocket(wsUrl);
    early.send({ id: '1', type: 'subscribe', payload: { query: 'subscription { myGenerations { percent } }' } });
    expect(await early.closed).toBe(4401);
    const duplicate = await initSocket(wsUrl, user.token);
    for (let i = 0; i < 2; i++)
      duplicate.send({ id: 'd', type: 'subscribe', payload: { query: 'subscription { myGenerations { percent } }' } });
    expect(await duplicate.closed).toBe(4409);
    const written = lines.slice(start);
    const errors = written.filter((l) => l.level >= 40);
    expect(errors.map((l) => `${l.msg} ${JSON.stringify(l).slice(0, 300)}`)).toEqual([]);
    // The mistakes are there, at debug, with their codes.
    const logged = new Set(written.filter((l) => l.level === 20).flatMap((l) => l.codes ?? (l.code ? [l.code] : [])));
    for (const code of [
      'GRAPHQL_PARSE_FAILED',
      'GRAPHQL_VALIDATION_FAILED',
      'UNAUTHENTICATED',
      'BAD_USER_INPUT',
      'COST_LIMIT_EXCEEDED',
    ])
      expect(logged, code).toContain(code);
  });

  it('still logs a server fault at error level, once, with its stack, and answers the retryable SERVICE_UNAVAILABLE', async () => {
    const own: { level: number; msg: string; err?: { stack?: string } }[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) own.push(JSON.parse(line));
        done();
      },
    });
    // An api whose PostgreSQL is stopped: nothing listens on that port.
    const down = new URL(testConfig().DATABASE_URL);
    down.port = String(await freePort());
    const config = testConfig({ DATABASE_URL: down.toString() });
    const broken = buildApp(config, { log: pino({ level: 'debug' }, sink) });
    const graphql = `${await broken.start()}/graphql`;
    // A token whose version no Redis copy holds: checking it reads PostgreSQL, in the context.
    const unseen = await new TokenService(config.JWT_SECRET, 3600).sign({ id: randomUUID(), role: 'USER' });
    try {
      for (const [what, send] of [
        // A resolver: logIn reads the account.
        ['a resolver', () => gql(graphql, 'mutation { logIn(email: "a@example.test", password: "whatever123") { token } }')],
        // The context: the token's revocation check.
        ['the context', () => gql(graphql, '{ me { id } }', {}, unseen)],
      ] as const) {
        const start = own.length;
        const res = await send();
        expect(res.status, what).toBe(200);
        expect(codes(res), what).toEqual(['SERVICE_UNAVAILABLE']);
        const loud = own.slice(start).filter((l) => l.level >= 40);
        expect(
          loud.map((l) => [l.level, l.msg]),
          what,
        ).toEqual([[50, 'The database is unavailable']]);
        expect(loud[0]?.err?.stack, what).toMatch(/reach database server/);
      }
    } finally {
      await broken.stop();
    }
  });
});
