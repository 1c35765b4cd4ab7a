/** Diagnostic: generateBeat at 100/s against an api started with extra node flags; prints latency tail. */
import { randomBytes } from 'node:crypto';
import { dropDatabase, ensureDatabase } from '../../src/db/ensure-database.js';
import { applyMigrations } from '../../src/db/schema-engine.js';
import { spawnTs, summarize } from './lib.js';

const run = randomBytes(4).toString('hex');
const databaseUrl = `postgresql://postgres@127.0.0.1:5432/dawg_bench_${run}`;
await ensureDatabase(databaseUrl);
await applyMigrations(databaseUrl);
const api = await spawnTs(
  'src/main.ts',
  {
    DATABASE_URL: databaseUrl,
    REDIS_PREFIX: `dawg-bench-${run}:`,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    MIGRATE_ON_START: 'false',
    RATE_LIMIT_PER_MINUTE: '1000000',
  },
  /"port":(\d+)/,
  { nodeArgs: (process.env.NODE_ARGS ?? '').split(' ').filter(Boolean) },
);
let gcOut = '';
api.child.stdout?.on('data', (d: Buffer) => {
  gcOut += d.toString();
});
const url = `http://127.0.0.1:${api.match[1]}/graphql`;
const post = async (query: string, variables: object, token?: string) =>
  (await (
    await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    })
  ).json()) as { data: Record<string, Record<string, string>> };
const token = (
  await post('mutation($e: String!) { signUp(email: $e, password: "benchmark pw") { token } }', { e: `p-${run}@x.io` })
).data.signUp?.token;
for (let round = 0; round < 3; round++) {
  gcOut = '';
  const lat: number[] = [];
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < 500; i++) {
    const w = start + i * 10 - performance.now();
    if (w > 0) await new Promise((r) => setTimeout(r, w));
    const t0 = performance.now();
    pending.push(
      post(
        'mutation($i: GenerateBeatInput!) { generateBeat(input: $i) { id } }',
        { i: { genre: 'lofi', bpm: 90, key: 'Am', durationSec: 5 } },
        token,
      ).then(() => void lat.push(performance.now() - t0)),
    );
  }
  await Promise.all(pending);
  const s = summarize(lat);
  const pauses = [...gcOut.matchAll(/(Scavenge|Mark-Compact)[^\n]*?, ([\d.]+) \/ [\d.]+ ms/g)].map(
    (m) => [m[1], Number(m[2])] as const,
  );
  const long = pauses.filter(([, ms]) => ms > 10);
  console.log(
    `round ${round}: p50 ${s.p50.toFixed(1)} p99 ${s.p99.toFixed(1)} max ${s.max.toFixed(1)}; GC events ${pauses.length}, >10 ms: ${long.map(([k, ms]) => `${k} ${ms}`).join(', ') || 'none'}`,
  );
}
await api.stop();
await dropDatabase(databaseUrl);
process.exit(0);
