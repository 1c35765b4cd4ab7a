/**
 * PostgreSQL stopped for 20 s mid-run (issue 13, "Faults that heal"), on a scratch server of this
 * file's own (initdb on a free port), so the machine's cluster and the other test files are not
 * touched. Beats queued before the outage wait it out ("waiting for the database", retried with
 * backoff up to GENERATION_DEADLINE_MS) and complete once it is back: 0 stuck, 0 lost, none made
 * twice. During the outage a mutation answers within 2 s, refused with the retryable
 * SERVICE_UNAVAILABLE, and /ready names the database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresServer } from '../../scripts/lib/postgres-server.js';
import { ensureDatabase } from '../../src/db/ensure-database.js';
import { applyMigrations } from '../../src/db/schema-engine.js';
import { codes, freePort, gql, signUp, type TestUser } from '../helpers/harness.js';
import { startScratchPrimary } from '../helpers/pg-primary.js';
import { type Stack, startStack, waitFor } from '../helpers/stack.js';

const BEAT = 'mutation { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", durationSec: 10 }) { id status } }';

describe('a PostgreSQL outage', () => {
  let server: PostgresServer;
  let stack: Stack;
  let user: TestUser;

  beforeAll(async () => {
    server = await startScratchPrimary(await freePort());
    const url = server.url('dawg');
    await ensureDatabase(url);
    await applyMigrations(url);
    stack = await startStack(
      { DATABASE_URL: url, GENERATION_DEADLINE_MS: '120000', WORKER_CONCURRENCY: '1' },
      {},
      { ownDatabase: false },
    );
    user = await signUp(stack.api.graphqlUrl);
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
    await server?.destroy();
  });

  it('waits out 20 s without PostgreSQL: every beat completes once, and mutations answer within 2 s meanwhile', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await gql(stack.api.graphqlUrl, BEAT, {}, user.token);
      expect(res.errors).toBeUndefined();
      ids.push(res.data.generateBeat.id);
    }
    await waitFor(stack.api, user.token, ids[0] as string, (s) => s.status === 'COMPLETED', 30_000);
    await server.stop('immediate'); // as a crash: no clean shutdown
    const down = Date.now();

    // Meanwhile: a mutation and a query answer within 2 s, refused with a retryable code.
    const timings: number[] = [];
    const answers: (string | undefined)[][] = [];
    for (const query of [BEAT, '{ generations(first: 5) { edges { node { id } } } }', BEAT]) {
      const started = performance.now();
      answers.push(codes(await gql(stack.api.graphqlUrl, query, {}, user.token)));
      timings.push(performance.now() - started);
    }
    const ready = await fetch(`${stack.api.url}/ready`);
    const readyBody = (await ready.json()) as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - down))));
    await server.start();

    const states = await Promise.all(
      ids.map((id) => waitFor(stack.api, user.token, id, (s) => ['COMPLETED', 'FAILED'].includes(s.status), 120_000)),
    );
    console.info(
      `PostgreSQL down 20 s: ${states.filter((s) => s.status === 'COMPLETED').length}/${ids.length} beats completed; ` +
        `answers while down in ${timings.map((t) => t.toFixed(0)).join(' / ')} ms (${answers.map((a) => a.join(',')).join(' / ')}); ` +
        `attempts ${states.map((s) => s.attempts).join(',')}`,
    );
    expect(ready.status).toBe(503);
    expect(readyBody.database).toBe('unavailable');
    for (const t of timings) expect(t).toBeLessThan(2_000);
    for (const a of answers) expect(a).toEqual(['SERVICE_UNAVAILABLE']);
    expect(states.map((s) => s.status)).toEqual(ids.map(() => 'COMPLETED'));
    // Made once each: one stored output per generation, none left stuck.
    for (const s of states) expect(s.output?.audioUrl).toBeTruthy();
    const after = await gql(stack.api.graphqlUrl, BEAT, {}, user.token);
    expect(after.errors).toBeUndefined();
  }, 240_000);
});
