/**
 * The response cache (src/graphql/response-cache.ts): a repeated conversation page is answered from
 * it, and never after a write it could have missed. Every policy still applies to an answer from the
 * cache (issue 14's rule: a faster path that skips one is a defect): operation limits, rate limits,
 * the cost budget, metrics, access. Writes by any path are seen: a mutation, SQL from another
 * connection (as the worker or another api process would write), a membership change.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { schema } from '../../src/graphql/schema.js';
import { cacheableOperation } from '../../src/graphql/response-cache.js';
import { parse } from 'graphql';
import { codes, gql, rawId, type RunningApp, signUp, startApp, type TestUser, testConfig, until } from '../helpers/harness.js';

const PAGE = `query Page($first: Int) { conversations(first: $first) { edges { node { id title
  messages(first: 10) { edges { node { id content } } } } } } }`;
const PAGE_WITH_DATES = `query Dated($first: Int) { conversations(first: $first) { edges { node { id title createdAt
  messages(first: 10) { edges { node { id content createdAt } } } } } } }`;
const CREATE = 'mutation($t: String, $p: ID) { createConversation(title: $t, projectId: $p) { id } }';

let api: RunningApp;
let db: pg.Client;
let alice: TestUser;
let bob: TestUser;

/** The api's /metrics samples of `name`, summed by the value of `label`. */
async function samples(name: string, label: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const value = new RegExp(`${label}="([^"]*)"`).exec(line)?.[1] ?? '';
    out[value] = (out[value] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

/** dawg_graphql_response_cache_total by outcome. */
const cacheCounts = () => samples('dawg_graphql_response_cache_total', 'outcome');

/** Runs `fn` and returns how the cache's counters moved. */
async function outcomesOf(fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await cacheCounts();
  await fn();
  const after = await cacheCounts();
  return Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)])
      .filter(([, v]) => v !== 0),
  );
}

/**
 * How the cache's counters moved for `fn`, a repeat of a request just kept: asked again (up to five
 * times) while it is a miss, since a write by another test file on the shared database moves the
 * epoch between the two (each miss keeps the answer again). `beforeEach` runs before every try (a
 * count the last try is measured against).
 */
async function outcomesOfRepeat(
  fn: () => Promise<unknown>,
  beforeEach: () => Promise<void> = async () => {},
): Promise<Record<string, number>> {
  await beforeEach();
  let outcomes = await outcomesOf(fn);
  for (let i = 0; i < 4 && outcomes.miss; i++) {
    await beforeEach();
    outcomes = await outcomesOf(fn);
  }
  return outcomes;
}

// biome-ignore lint/suspicious/noExplicitAny: test responses are read field by field
const titles = (res: { data?: any }): string[] =>
  res.data?.conversations?.edges.map((e: { node: { title: string } }) => e.node.title) ?? [];

/** Waits until the api listens for the database's notifications (it caches nothing before). */
async function listening(): Promise<void> {
  const listeners = async () =>
    (
      await db.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'dawg-api-listen' AND query LIKE 'LISTEN%'",
      )
    ).rows[0].n as number;
  await until(async () => (await listeners()) > 0);
}

beforeAll(async () => {
  api = await startApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  db = new pg.Client({ connectionString: inject('databaseUrl') });
  await db.connect();
  [alice, bob] = await Promise.all([signUp(api.graphqlUrl), signUp(api.graphqlUrl)]);
  await listening();
});
afterAll(async () => {
  await db?.end();
  await api?.stop();
});

describe('which operations it may cache', () => {
  const cacheable = (query: string) => cacheableOperation(schema, parse(query));
  it('caches conversation pages and the viewer, with fragments and __typename', () => {
    expect(cacheable(PAGE)).toBe(true);
    expect(cacheable('{ me { id email __typename } }')).toBe(true);
    expect(
      cacheable('query { conversation(id: "x") { ...C } } fragment C on Conversation { title messages { totalCount } }'),
    ).toBe(true);
  });
  it('passes anything that reads what no notification covers: generations, projects, usage, node, introspection, mutations', () => {
    expect(cacheable('{ conversations { edges { node { messages { edges { node { generation { status } } } } } } } }')).toBe(
      false,
    );
    expect(cacheable('{ conversations { edges { node { project { name } } } } }')).toBe(false);
    expect(cacheable('{ usage { generations } }')).toBe(false);
    expect(cacheable('{ node(id: "x") { id } }')).toBe(false);
    expect(cacheable('{ __schema { types { name } } }')).toBe(false);
    expect(cacheable('query { me { id } } fragment G on Generation { status }')).toBe(false);
    expect(cacheable('mutation { logOut }')).toBe(false);
  });
});

describe('response cache', () => {
  it('answers a repeated page from the cache, per viewer: another viewer never gets it', async () => {
    await gql(api.graphqlUrl, CREATE, { t: 'alice 1' }, alice.token);
    const first = await outcomesOf(() => gql(api.graphqlUrl, PAGE, { first: 5 }, alice.token));
    expect(first).toEqual({ miss: 1 });
    let again: Awaited<ReturnType<typeof gql>> | undefined;
    expect(await outcomesOfRepeat(async () => (again = await gql(api.graphqlUrl, PAGE, { first: 5 }, alice.token)))).toEqual({
      hit: 1,
    });
    expect(titles(again ?? {})).toEqual(['alice 1']);
    let bobs: Awaited<ReturnType<typeof gql>> | undefined;
    expect(await outcomesOf(async () => (bobs = await gql(api.graphqlUrl, PAGE, { first: 5 }, bob.token)))).toEqual({ miss: 1 });
    expect(titles(bobs ?? {})).toEqual([]);
  });

  it('answers a hit with the very bytes of the miss it keeps', async () => {
    const user = await signUp(api.graphqlUrl);
    await gql(api.graphqlUrl, CREATE, { t: 'ünïcode ♪ "quoted" \\ \u2028 </script>' }, user.token);
    const post = () =>
      fetch(api.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
        body: JSON.stringify({ query: PAGE_WITH_DATES, variables: { first: 5 } }),
      });
    let miss: Response | undefined;
    let hit: Response | undefined;
    expect(await outcomesOf(async () => (miss = await post()))).toEqual({ miss: 1 });
    expect(await outcomesOfRepeat(async () => (hit = await post()))).toEqual({ hit: 1 });
    const [missText, hitText] = await Promise.all([miss?.text(), hit?.text()]);
    expect(hitText).toBe(missText);
    // What JSON.stringify makes of the answer (both are written from the text the miss kept).
    expect(hitText).toBe(JSON.stringify(JSON.parse(hitText ?? '')));
    expect(hit?.headers.get('content-length')).toBe(String(Buffer.byteLength(hitText ?? '')));
    expect(titles(JSON.parse(hitText ?? '{}'))).toEqual(['ünïcode ♪ "quoted" \\ \u2028 </script>']);
  });

  it("shows the viewer's own mutation at once", async () => {
    await gql(api.graphqlUrl, PAGE, { first: 5 }, alice.token);
    await gql(api.graphqlUrl, CREATE, { t: 'alice 2' }, alice.token);
    expect(titles(await gql(api.graphqlUrl, PAGE, { first: 5 }, alice.token))).toEqual(['alice 2', 'alice 1']);
  });

  it('sees a write made elsewhere (SQL on another connection, as the worker or another api process)', async () => {
    const page = await gql(api.graphqlUrl, PAGE, { first: 5 }, alice.token);
    const id = rawId(page.data.conversations.edges[0].node.id);
    await gql(api.graphqlUrl, PAGE, { first: 5 }, alice.token); // cached now
    await db.query("UPDATE conversations SET title = 'renamed by SQL' WHERE id = $1", [id]);
    // PostgreSQL delivers the notification at commit; the api reads it before it answers again.
    await until(async () => titles(await gql(api.graphqlUrl, PAGE, { first: 5 }, alice.token))[0] === 'renamed by SQL', 2_000);
    await db.query(
      "INSERT INTO messages (id, conversation_id, role, content, status) VALUES (gen_random_uuid(), $1, 'USER', 'typed elsewhere', 'COMPLETE')",
      [id],
    );
    await until(async () => {
      const res = await gql(api.graphqlUrl, PAGE, { first: 5 }, alice.token);
      return res.data.conversations.edges[0].node.messages.edges.some(
        (e: { node: { content: string } }) => e.node.content === 'typed elsewhere',
      );
    }, 2_000);
  });

  it("follows access: a removed member no longer sees the project's conversations", async () => {
    const project = (await gql(api.graphqlUrl, 'mutation { createProject(name: "shared") { id } }', {}, alice.token)).data
      .createProject.id;
    await gql(api.graphqlUrl, CREATE, { t: 'in the project', p: project }, alice.token);
    await db.query("INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'VIEWER')", [
      rawId(project),
      rawId(bob.id),
    ]);
    await until(async () => titles(await gql(api.graphqlUrl, PAGE, { first: 5 }, bob.token)).includes('in the project'), 2_000);
    expect(await outcomesOfRepeat(() => gql(api.graphqlUrl, PAGE, { first: 5 }, bob.token))).toEqual({ hit: 1 });
    await db.query('DELETE FROM project_members WHERE project_id = $1 AND user_id = $2', [rawId(project), rawId(bob.id)]);
    await until(async () => !titles(await gql(api.graphqlUrl, PAGE, { first: 5 }, bob.token)).includes('in the project'), 2_000);
  });

  it('runs every policy before a cached answer: operation limits, metrics, errors not cached', async () => {
    await gql(api.graphqlUrl, PAGE, { first: 5 }, alice.token);
    // Counted by the operation metrics like any other.
    const ops = async () => Object.values(await samples('dawg_graphql_operations_total', 'type')).reduce((n, v) => n + v, 0);
    let before = 0;
    const hit = await outcomesOfRepeat(
      () => gql(api.graphqlUrl, PAGE, { first: 5 }, alice.token),
      async () => {
        before = await ops();
      },
    );
    expect(hit).toEqual({ hit: 1 });
    expect(await ops()).toBe(before + 1);
    // A refused request (over the page size) is refused every time, never cached.
    const tooMany = 'query { conversations(first: 5000) { edges { node { id } } } }';
    for (let i = 0; i < 2; i++) expect(codes(await gql(api.graphqlUrl, tooMany, {}, alice.token))).not.toEqual([]);
    // No viewer, nothing cached.
    expect(await outcomesOf(() => gql(api.graphqlUrl, '{ me { id } }'))).toEqual({ pass: 1 });
    // Variables the operation does not declare are not part of the key, however deep (the fuzzer's
    // 300 KB of nested objects once made the key's JSON.stringify overflow the stack: a 500).
    const deep = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
    const res = await fetch(api.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
      body: `{"query":"{ me { id } }","variables":{"v":${deep}}}`,
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data?: { me?: { id: string } } }).data?.me?.id).toBe(alice.id);
  });

  it('caches nothing while the notifications are down, and again once they are back', async () => {
    await gql(api.graphqlUrl, PAGE, { first: 5 }, alice.token);
    await db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dawg-api-listen'");
    await until(async () => (await outcomesOf(() => gql(api.graphqlUrl, PAGE, { first: 5 }, alice.token))).pass === 1, 2_000);
    // A write now has no notification to move the cache: the next page must read it anyway.
    const page = await gql(api.graphqlUrl, PAGE, { first: 5 }, alice.token);
    await db.query("UPDATE conversations SET title = 'while deaf' WHERE id = $1", [
      rawId(page.data.conversations.edges[0].node.id),
    ]);
    expect(titles(await gql(api.graphqlUrl, PAGE, { first: 5 }, alice.token))[0]).toBe('while deaf');
    await listening();
    await until(async () => (await outcomesOf(() => gql(api.graphqlUrl, PAGE, { first: 5 }, alice.token))).hit === 1, 5_000);
  });
});

describe('rate limits on cached answers', () => {
  let limited: RunningApp;
  afterAll(() => limited?.stop());
  it('counts a cached answer against the rate limit like any request', async () => {
    // Its own Redis prefix: the limiter's counters of the other tests in this run must not count here.
    limited = await startApp({ RATE_LIMIT_PER_MINUTE: '5', REDIS_PREFIX: `${testConfig().REDIS_PREFIX}rc-${randomUUID()}:` });
    const user = await signUp(limited.graphqlUrl);
    const results: (string | undefined)[][] = [];
    for (let i = 0; i < 8; i++) results.push(codes(await gql(limited.graphqlUrl, '{ me { id } }', {}, user.token)));
    expect(results.flat()).toContain('RATE_LIMITED');
    // At most 5 of the user's queries a minute are answered, from the cache or not.
    expect(results.filter((r) => r.length === 0).length).toBeLessThanOrEqual(5);
  });
});
