/**
 * Work under the limit (issue 16, item 5): 300 requests of `projects(first: 100) { … tracks { … } }`,
 * all within the request limit, pushed other users' p50 to 2.9 s and p99 to 3.7 s. Here the attack
 * runs against today's default limits (request limit, cost limit, per-minute cost budget), on a
 * separate api process, from six accounts with 20 projects of 100 tracks each (the most a project
 * holds, which the cost model assumes for `tracks`), each sending its 100 requests of the heaviest
 * page the cost limit lets through; other users' p99 must stay within 2x its quiet value. Before
 * GRAPHQL_COST_IN_FLIGHT (src/graphql/cost-in-flight.ts) each attacker's 30 admitted requests ran four
 * at a time and the victims' p99 went from ~10 ms to 30-140 ms here; with the gate holding each
 * query's cost as long again as it ran, 1.6-2.5x; with three times as long, 1.2-2.1x.
 */
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { codes, gql, signUp, type TestUser, testEnv, rawId } from '../helpers/harness.js';
import { type ApiProcess, spawnApi } from '../helpers/process.js';
import { isolatedPrefix } from '../helpers/ws.js';

/** Today's defaults for the limits under test (the test environment lifts them for other files). */
const {
  RATE_LIMIT_PER_MINUTE: _r,
  GRAPHQL_COST_PER_MINUTE: _c,
  GRAPHQL_MAX_COST: _m,
  GRAPHQL_COST_IN_FLIGHT: _f,
  ...env
} = testEnv();
const defaults = loadConfig(env);
const ATTACKERS = 6;
const PROJECTS = 20;
const TRACKS = 100; // the most a project holds (PROJECT_MAX_TRACKS): what the cost model assumes
/** 600 requests in all, 100 per attacker: exactly the default request limit of each. */
const REQUESTS_PER_ATTACKER = 100;
const CONCURRENCY = 4;
const heavy = (first: number) => `{ projects(first: ${first}) { edges { node { id name tracks { id name gainDb } } } } }`;
const LIGHT = '{ projects(first: 5) { edges { node { id name } } } }';

let api: ApiProcess;
/** Several victims, so the victim side's samples stay within each one's own request limit. */
const VICTIMS = 12;
/** Victim samples per window, quiet and attacked: 6 x 90 each side, so the p99 is not simply the slowest. */
const SAMPLES = 90;
const uuidOf = (u: TestUser) => rawId(u.id);

beforeAll(async () => {
  api = await spawnApi({
    REDIS_PREFIX: isolatedPrefix(),
    RATE_LIMIT_PER_MINUTE: String(defaults.RATE_LIMIT_PER_MINUTE),
    GRAPHQL_COST_PER_MINUTE: String(defaults.GRAPHQL_COST_PER_MINUTE),
    GRAPHQL_MAX_COST: String(defaults.GRAPHQL_MAX_COST),
    GRAPHQL_COST_IN_FLIGHT: String(defaults.GRAPHQL_COST_IN_FLIGHT),
  });
}, 60_000);
afterAll(() => api?.kill());

interface AttackResult {
  served: number;
  rateLimited: number;
  other: string[];
}

/**
 * The attackers' client runs in a worker thread, so parsing their large responses does not delay the
 * victim's measurements in this thread. On each message it sends one attacker's 100 requests over
 * CONCURRENCY connections, as fast as they answer, and reports what came back.
 */
function attackWorker(url: string, query: string, first: number) {
  return new Worker(
    `const { parentPort, workerData: { url, body, first, total, concurrency } } = require('node:worker_threads');
    parentPort.on('message', async (token) => {
      const result = { served: 0, rateLimited: 0, other: [] };
      let sent = 0;
      const loop = async () => {
        while (sent < total) {
          sent++;
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body });
          const json = await res.json();
          const codes = (json.errors ?? []).map((e) => e.extensions && e.extensions.code);
          const edges = json.data && json.data.projects && json.data.projects.edges;
          if (!codes.length && edges && edges.length === first && edges.every((e) => e.node.tracks.length === ${TRACKS})) result.served++;
          else if (codes.length === 1 && codes[0] === 'RATE_LIMITED') result.rateLimited++;
          else result.other.push(JSON.stringify(json).slice(0, 200));
        }
      };
      await Promise.all(Array.from({ length: concurrency }, loop));
      parentPort.postMessage(result);
    });`,
    {
      eval: true,
      workerData: { url, body: JSON.stringify({ query }), first, total: REQUESTS_PER_ATTACKER, concurrency: CONCURRENCY },
    },
  );
}

interface Accounts {
  attackers: TestUser[];
  victims: TestUser[];
  prober: TestUser;
}

/**
 * Accounts for one attempt: their request limits and cost budgets are untouched, so a retry meets
 * the same limits as the first attempt. SQL for speed: 20 projects of 100 tracks for each attacker
 * and the prober, 5 for each victim.
 */
async function freshAccounts(): Promise<Accounts> {
  const users = (n: number) => Promise.all(Array.from({ length: n }, () => signUp(api.graphqlUrl)));
  const [attackers, victims, [prober]] = await Promise.all([users(ATTACKERS), users(VICTIMS), users(1)]);
  const db = new pg.Client({ connectionString: inject('databaseUrl') });
  await db.connect();
  try {
    const owners = [...attackers, prober as TestUser].map(uuidOf);
    await db.query(
      `INSERT INTO projects (id, owner_id, name, created_at, updated_at)
       SELECT gen_random_uuid(), o, 'project ' || i, now() - i * interval '1 ms', now()
       FROM unnest($1::uuid[]) AS o, generate_series(1, $2::int) AS i`,
      [owners, PROJECTS],
    );
    await db.query(
      `INSERT INTO tracks (id, project_id, name, gain_db, position)
       SELECT gen_random_uuid(), p.id, 'track ' || j, -j, j
       FROM projects p, generate_series(1, $2::int) AS j WHERE p.owner_id = ANY($1::uuid[])`,
      [owners, TRACKS],
    );
    await db.query(
      `INSERT INTO projects (id, owner_id, name, updated_at) SELECT gen_random_uuid(), o, 'mine ' || i, now()
       FROM unnest($1::uuid[]) AS o, generate_series(1, 5) AS i`,
      [victims.map(uuidOf)],
    );
    // Each owner is their projects' OWNER member, as createProject makes them (access follows membership).
    await db.query(
      `INSERT INTO project_members (project_id, user_id, role, added_at)
       SELECT id, owner_id, 'OWNER', created_at FROM projects WHERE owner_id = ANY($1::uuid[])`,
      [[...owners, ...victims.map(uuidOf)]],
    );
  } finally {
    await db.end();
  }
  return { attackers, victims, prober: prober as TestUser };
}

const p99 = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.ceil(xs.length * 0.99) - 1] as number;
const p50 = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.ceil(xs.length * 0.5) - 1] as number;

let turn = 0;
/** One victim's light read, the victims taking turns; its round-trip time. */
async function timed(victims: TestUser[]): Promise<number> {
  const victim = victims[turn++ % victims.length] as TestUser;
  const started = performance.now();
  const res = await gql(api.graphqlUrl, LIGHT, {}, victim.token);
  const ms = performance.now() - started;
  expect(res.errors).toBeUndefined();
  expect(res.data?.projects.edges).toHaveLength(5);
  return ms;
}

// The p99 of a few hundred round trips on two shared cores moves with whatever else the machine
// does: one attempt in about ten went past 2x with nothing changed (docs/benchmarks.md, "Hostile
// load"). A failed attempt is measured again, twice at most, each time with fresh accounts.
it("600 heavy project reads under the limits: a meaningful number served, other users' p99 within 2x quiet", {
  retry: 2,
  timeout: 120_000,
}, async () => {
  const { attackers, victims, prober } = await freshAccounts();
  // The form, first: 100 with tracks, costs more than one operation may.
  const full = await gql(api.graphqlUrl, heavy(100), {}, prober.token);
  expect(codes(full)).toEqual(['COST_LIMIT_EXCEEDED']);
  const fullCost = full.errors?.[0]?.extensions as { cost: number; limit: number };
  expect(fullCost.limit).toBe(defaults.GRAPHQL_MAX_COST);
  // Cost is linear in the page size (1 for the connection + first x per-project cost): the largest
  // page that passes is the heaviest form of the attack the limits let through.
  const perProject = (fullCost.cost - 1) / 100;
  const first = Math.floor((fullCost.limit - 1) / perProject);
  expect(first).toBeGreaterThanOrEqual(1);
  expect(codes(await gql(api.graphqlUrl, heavy(first + 1), {}, prober.token))).toEqual(['COST_LIMIT_EXCEEDED']);
  const passes = await gql(api.graphqlUrl, heavy(first), {}, prober.token);
  expect(passes.errors).toBeUndefined();
  expect(passes.data?.projects.edges).toHaveLength(first);
  // Warm-up: the api's first heavy requests run cold (JIT), slower than any steady state.
  for (let i = 0; i < 10; i++) expect((await gql(api.graphqlUrl, heavy(first), {}, prober.token)).errors).toBeUndefined();

  const worker = attackWorker(api.graphqlUrl, heavy(first), first);
  const attack = (token: string) =>
    new Promise<AttackResult>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage(token);
    });
  try {
    for (let i = 0; i < 3; i++) await timed(victims); // warm-up
    // Quiet and attacked windows alternate, one attacker's 100 requests per attacked window, so noise
    // from other work on the machine lands in both. Each victim stays under its own request limit.
    const calm: number[] = [];
    const busy: number[] = [];
    const results: AttackResult[] = [];
    for (const attacker of attackers) {
      for (let i = 0; i < SAMPLES; i++) calm.push(await timed(victims));
      let done = false;
      const running = attack(attacker.token).then((r) => {
        done = true;
        return r;
      });
      // Measured while the attack runs: SAMPLES round trips fall within its served requests, which
      // come first (the refusals come once its cost budget is spent).
      for (let i = 0; i < SAMPLES && !done; i++) busy.push(await timed(victims));
      results.push(await running);
    }

    const served = results.reduce((n, r) => n + r.served, 0);
    const rateLimited = results.reduce((n, r) => n + r.rateLimited, 0);
    const quiet = p99(calm);
    const loaded = p99(busy);
    console.info(
      `heavy reads: first ${first} (cost ${Math.round(1 + first * perProject)}), served ${served}, RATE_LIMITED ${rateLimited} of ${ATTACKERS * REQUESTS_PER_ATTACKER}; victims' p50 ${p50(calm).toFixed(1)} -> ${p50(busy).toFixed(1)} ms, p99 ${quiet.toFixed(1)} -> ${loaded.toFixed(1)} ms (x${(loaded / quiet).toFixed(2)}, ${busy.length} samples under attack)`,
    );
    for (const r of results) expect(r.other).toEqual([]);
    expect(served + rateLimited).toBe(ATTACKERS * REQUESTS_PER_ATTACKER);
    // Not a trivial pass: the heavy requests were really served, not all refused up front.
    expect(served).toBeGreaterThanOrEqual(50);
    expect(busy.length).toBe(ATTACKERS * SAMPLES);
    expect(loaded, `quiet p99 ${quiet.toFixed(1)} ms, under attack ${loaded.toFixed(1)} ms`).toBeLessThanOrEqual(2 * quiet);
  } finally {
    await worker.terminate();
  }
});
