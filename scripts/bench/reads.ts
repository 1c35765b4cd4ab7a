/**
 * `npm run bench:reads [-- --connections 20 --seconds 10]`: read throughput of one api process,
 * driven by autocannon (closed loop, `connections` keep-alive connections, one request in flight on
 * each), one query after another, each after a warm-up that is not counted. Each connection is a
 * user of its own, as 20 clients would be: one caller's heavy queries are gated on purpose (the cost
 * in flight, src/graphql/cost-in-flight.ts, gives one caller at most about a quarter of the event
 * loop), which the last row shows with every connection on one token.
 *
 * - baseline in the same run: `{ __typename }`, through the same pipeline (authentication, limits,
 *   rate limits, metrics) but no resolver and no database;
 * - `{ me { id email } }`: the viewer's row;
 * - the conversation page: 20 conversations with their first 10 messages each (content), of a user
 *   who has them (seeded in SQL before the runs; the query costs ~900 of the 1,000 allowed).
 *
 * The load generator shares the machine's cores with the api, PostgreSQL and Redis. Issue 14's goals:
 * the conversation page ≥ 0.25× the baseline's requests/s, `me` ≥ 0.5×.
 */
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { cpuMsOf, signUp, startBenchApi, table, writeResult } from './lib.js';
import { machineSpeed } from './machine-speed.js';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
  },
});
const CONNECTIONS = Number(values.connections);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);

const QUERIES = {
  baseline: '{ __typename }',
  me: '{ me { id email } }',
  conversations:
    '{ conversations(first: 20) { edges { node { id title messages(first: 10) { edges { node { id content } } } } } } }',
} as const;

const probe = await machineSpeed();
const api = await startBenchApi();
const db = new pg.Client({ connectionString: api.databaseUrl });
await db.connect();

/** A user with 20 conversations of 12 messages each (seeded in SQL): one who has chatted a while. */
async function seededUser(n: number): Promise<{ email: string; token: string }> {
  const email = `reads-${n}-${Date.now()}@example.test`;
  const token = await signUp(api.gql, email);
  const userId = (await db.query('SELECT id FROM users WHERE email = $1', [email])).rows[0].id as string;
  const conversations = await db.query(
    `INSERT INTO conversations (id, user_id, title, created_at, updated_at)
     SELECT gen_random_uuid(), $1, 'Session ' || c || ': lo-fi ideas', now() - make_interval(mins => 60 - c), now()
     FROM generate_series(1, 20) c RETURNING id`,
    [userId],
  );
  await db.query(
    `INSERT INTO messages (id, conversation_id, user_id, role, content, status, created_at)
     SELECT gen_random_uuid(), c, $2,
            (CASE WHEN m % 2 = 1 THEN 'ASSISTANT' ELSE 'USER' END)::"MessageRole",
            CASE WHEN m % 2 = 1
              THEN 'Here is a mellow 90 bpm lo-fi beat in A minor with dusty drums, a warm Rhodes and a soft bassline.'
              ELSE 'make me a mellow 90 bpm lo-fi beat in A minor' END,
            'COMPLETE', now() - make_interval(secs => 1000 - m)
     FROM unnest($1::uuid[]) c, generate_series(0, 11) m`,
    [conversations.rows.map((r) => r.id), userId],
  );
  return { email, token };
}
const users: { email: string; token: string }[] = [];
for (let i = 0; i < CONNECTIONS; i++) users.push(await seededUser(i));
await db.end();
const { email, token } = users[0] as { email: string; token: string };

// Each query answers without errors, with what it should hold, before it is measured.
const page = await api.gql(QUERIES.conversations, {}, token);
const edges = (page.data?.conversations as { edges: { node: { messages: { edges: unknown[] } } }[] } | undefined)?.edges;
if (page.errors || edges?.length !== 20 || edges.some((e) => e.node.messages.edges.length !== 10))
  throw new Error(`the conversation page is not 20 × 10: ${JSON.stringify(page).slice(0, 300)}`);
const me = await api.gql(QUERIES.me, {}, token);
if (me.errors || (me.data?.me as { email?: string } | undefined)?.email !== email) throw new Error('me failed');

interface Run {
  query: keyof typeof QUERIES | 'oneCaller';
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  non2xx: number;
  apiCpuMsPerRequest: number;
}

/** `query` from every connection for `seconds`: connection i as user i, or all as one caller. */
function cannon(query: string, seconds: number, oneCaller = false): Promise<autocannon.Result> {
  let next = 0;
  return autocannon({
    url: api.url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
    setupClient: (client) => {
      const user = oneCaller ? users[0] : users[next++ % users.length];
      client.setHeaders({ 'content-type': 'application/json', authorization: `Bearer ${user?.token}` });
    },
  });
}

const LABELS: Record<Run['query'], string> = {
  baseline: 'baseline: { __typename }',
  me: '{ me { id email } }',
  conversations: 'conversations 20 × messages 10',
  oneCaller: 'the same, every connection one caller (gated)',
};
const runs: Run[] = [];
const plan = [
  ...(Object.keys(QUERIES) as (keyof typeof QUERIES)[]).map((name) => ({ name, oneCaller: false })),
  { name: 'oneCaller' as const, oneCaller: true },
];
for (const { name, oneCaller } of plan) {
  const query = QUERIES[name === 'oneCaller' ? 'conversations' : name];
  await cannon(query, WARMUP, oneCaller);
  const cpu0 = cpuMsOf(api.pid);
  const r = await cannon(query, SECONDS, oneCaller);
  const cpu = cpuMsOf(api.pid) - cpu0;
  runs.push({
    query: name,
    requestsPerSec: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    apiCpuMsPerRequest: cpu / Math.max(1, r.requests.total),
  });
}
await api.stop();

const byName = Object.fromEntries(runs.map((r) => [r.query, r])) as Record<Run['query'], Run>;
const ratio = (name: Run['query']) => byName[name].requestsPerSec / byName.baseline.requestsPerSec;
console.log(
  table(
    runs.map((r) => ({
      query: LABELS[r.query],
      'req/s': r.requestsPerSec.toFixed(0),
      '× baseline': (r.requestsPerSec / byName.baseline.requestsPerSec).toFixed(2),
      'p50 ms': r.p50Ms.toFixed(1),
      'p99 ms': r.p99Ms.toFixed(1),
      'api CPU ms/req': r.apiCpuMsPerRequest.toFixed(2),
      'errors / non-2xx': `${r.errors} / ${r.non2xx}`,
    })),
  ),
);
const { speed, line: speedLine } = await probe.after();
console.log(`\n${speedLine}`);
const goals = {
  conversations: ratio('conversations') >= 0.25,
  me: ratio('me') >= 0.5,
  clean: runs.every((r) => r.errors === 0 && r.non2xx === 0),
};
const metOrNot = (ok: boolean) => (ok ? 'met' : 'NOT met');
console.log(
  `\ngoal: conversation page ≥ 0.25× { __typename } (${ratio('conversations').toFixed(2)}×): ${metOrNot(goals.conversations)}`,
);
console.log(`goal: { me { id email } } ≥ 0.5× { __typename } (${ratio('me').toFixed(2)}×): ${metOrNot(goals.me)}`);
console.log(`every request answered 2xx without a transport error: ${metOrNot(goals.clean)}`);
console.log(
  `wrote ${await writeResult('reads', { params: { connections: CONNECTIONS, seconds: SECONDS, warmup: WARMUP }, runs, goals, pass: Object.values(goals).every(Boolean), speed })}`,
);
process.exit(0);
