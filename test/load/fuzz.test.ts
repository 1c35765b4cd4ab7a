/**
 * A fuzzer derived from the schema (issue 10, "Tests that must exist"; issue 16's "0
 * INTERNAL_SERVER_ERROR"). Hostile arguments for every Query and Mutation field, boundary values of
 * every mutation, and hostile requests below the schema, against the real api in its own process.
 *
 * Over the run: no status >= 500, no INTERNAL_SERVER_ERROR, every response within 2 s (one that is
 * slower is sent again alone, and fails if it is slow again), the api alive
 * and answering /health with flat RSS, no row written by any request the server must refuse, and no
 * api log line at warn level or above (issue 16, item 8: client mistakes are logged at debug, with
 * their code; the api logs at debug here, so the check also sees them there).
 * Seeded: the seed is printed; FUZZ_SEED=<n> replays the same requests. FUZZ_ONLY=<regex> keeps the
 * cases whose group or target it matches, FUZZ_SKIP=<regex> drops them (to chase one finding).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema.js';
import { protocolCases } from '../helpers/fuzz/protocol-cases.js';
import { fuzzSeed, Random } from '../helpers/fuzz/random.js';
import { SLOW_MS, summarize, summarizeLog } from '../helpers/fuzz/report.js';
import type { FuzzCase } from '../helpers/fuzz/request.js';
import { type Result, runCases } from '../helpers/fuzz/runner.js';
import { type Fixtures, schemaCases, unboundedMutationArgs } from '../helpers/fuzz/schema-cases.js';
import {
  changes,
  createFixtures,
  settled,
  snapshot,
  startTarget,
  type Target,
  type TableChange,
} from '../helpers/fuzz/target.js';

const SEED = fuzzSeed();
const ONLY = process.env.FUZZ_ONLY ? new RegExp(process.env.FUZZ_ONLY, 'i') : null;
const SKIP = process.env.FUZZ_SKIP ? new RegExp(process.env.FUZZ_SKIP, 'i') : null;
/** The share of each argument's hostile values a run sends (FUZZ_SHARE=1: all); the seed picks them. */
const SHARE = Number(process.env.FUZZ_SHARE ?? 0.35);
/** Few in flight: a response time should be the answer's, not a queue this test made. */
const CONCURRENCY = 4;
/** Past 2 s a response already fails; waiting longer only tells a slow answer from none. */
const TIMEOUT_MS = 5_000;
/**
 * For the batches together, so a run against an api that hangs still ends and reports. 2,300 cases
 * at four in flight need about 40 s here (a p50 of ~70 ms), which a 40 s budget left to chance: the
 * same commit passed and then failed with "not run" cases on a busier machine. The test's own
 * timeout (below) must leave room for it.
 */
const BUDGET_MS = 90_000;
const RSS_GROWTH = 1.25;

let target: Target;
let fixtures: Fixtures;

beforeAll(async () => {
  console.log(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
  target = await startTarget();
  fixtures = await createFixtures(target);
}, 60_000);

afterAll(async () => {
  await target?.stop();
});

/** Case ids named in rows the batch wrote (text values carry "fuzz#<id>"). */
function describeWrites(list: TableChange[], cases: FuzzCase[]): string {
  const byId = new Map(cases.map((c) => [c.id, c]));
  return list
    .map((t) => {
      const ids = [...new Set(t.added.flatMap((r) => [...r.matchAll(/fuzz#(\d+)/g)].map((m) => Number(m[1]))))];
      const named = ids
        .slice(0, 8)
        .map((id) => byId.get(id))
        .filter(Boolean)
        .map((c) => `#${c?.id} ${c?.group} → ${c?.target} as ${c?.actor}`);
      const rows = [
        ...t.added.slice(0, 2).map((r) => `+ ${r.slice(0, 160)}`),
        ...t.removed.slice(0, 2).map((r) => `- ${r.slice(0, 160)}`),
      ];
      return [
        `  ${t.table}: ${t.before} → ${t.after} rows (${t.added.length} new or changed, ${t.removed.length} gone or changed)`,
        ...rows.map((r) => `    ${r}`),
        ...named.map((n) => `    by ${n}`),
      ].join('\n');
    })
    .join('\n');
}

describe('schema-derived fuzzer', () => {
  it('lists the bounds of every mutation argument it fuzzes', () => {
    expect(unboundedMutationArgs(schema), 'add these to test/helpers/fuzz/boundaries.ts').toEqual([]);
  });

  it('survives 500+ hostile requests: no 5xx, no INTERNAL_SERVER_ERROR, all within 2 s, flat RSS, no writes by refused requests', async () => {
    const rng = new Random(SEED);
    const fromSchema = schemaCases(schema, fixtures, rng, SHARE);
    const below = protocolCases(fixtures, rng, (fromSchema.at(-1)?.id ?? 0) + 1);
    const picked = (c: FuzzCase) => (!ONLY || ONLY.test(`${c.group} ${c.target}`)) && !SKIP?.test(`${c.group} ${c.target}`);
    const all = [...fromSchema, ...below].filter(picked);
    const refused = rng.shuffle(all.filter((c) => c.writes === 'none'));
    const allowed = rng.shuffle(all.filter((c) => c.writes === 'allowed'));
    if (!ONLY && !SKIP) expect(refused.length + allowed.length).toBeGreaterThanOrEqual(500);

    const base = target.api.url;
    // The api's log from here on: client mistakes are logged below warn (issue 16, item 8).
    const logFrom = target.api.output().length;
    const deadline = Date.now() + BUDGET_MS;
    const run = (cases: FuzzCase[]) =>
      runCases(base, cases, { concurrency: CONCURRENCY, timeoutMs: TIMEOUT_MS, deadline, alive: target.alive });

    // Requests the server must refuse: nothing may change in any table.
    await settled(target.db).catch(() => {});
    const before = await snapshot(target.db);
    // Warm-up: the whole refused batch once, so the RSS the end is compared with is that of a heap
    // that has grown to what these requests need (one pass of 10 MB and 1 MB bodies moves it by a
    // third); then the same batch again, measured. Both passes must write nothing.
    const results: Result[] = await run(refused);
    const rssStart = target.alive() ? await target.rssMb() : Number.NaN;
    results.push(...(await run(refused)));
    await settled(target.db).catch(() => {});
    const written = changes(before, await snapshot(target.db));
    const rssRefused = target.alive() ? await target.rssMb() : Number.NaN;

    // Valid calls and boundary values that may write.
    results.push(...(await run(allowed)));

    // A request slower than 2 s is sent again, alone: an input that makes the server slow is slow
    // again, while a stall of the shared machine (every request in flight slow at once, as seen on
    // a busy CI host) is not. It fails only if the second answer is slow too; both times are reported.
    const transient: string[] = [];
    for (const r of results.filter((x) => x.o.ms > SLOW_MS && x.o.status !== null && target.alive())) {
      const [again] = await runCases(base, [r.c], {
        concurrency: 1,
        timeoutMs: TIMEOUT_MS,
        deadline: Date.now() + TIMEOUT_MS,
        alive: target.alive,
      });
      if (again && again.o.status !== null && again.o.ms <= SLOW_MS) {
        transient.push(`#${r.c.id} ${r.c.target}: ${r.o.ms} ms, then ${again.o.ms} ms alone`);
        r.o = { ...r.o, ms: again.o.ms };
      }
    }

    const alive = target.alive();
    const health = alive
      ? await fetch(`${base}/health`, { signal: AbortSignal.timeout(5_000) })
          .then((r) => r.status)
          .catch(() => null)
      : null;
    const rssEnd = alive ? await target.rssMb() : Number.NaN;

    const summary = summarize(results);
    const { loud, quietCodes } = summarizeLog(target.api.output().slice(logFrom));
    const byMsg = new Map<string, number>();
    for (const l of loud)
      byMsg.set(`${l.level ?? 'not JSON'} ${l.msg}`, (byMsg.get(`${l.level ?? 'not JSON'} ${l.msg}`) ?? 0) + 1);
    const ms = results
      .filter((r) => r.o.status !== null)
      .map((r) => r.o.ms)
      .sort((a, b) => a - b);
    const pct = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? 0;
    const report = [
      `fuzz seed ${SEED}: ${results.length} requests (${refused.length} that must write nothing, ${allowed.length} that may)`,
      `response times p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, max ${ms.at(-1) ?? 0} ms; the batches took ${((Date.now() - deadline + BUDGET_MS) / 1000).toFixed(1)} s`,
      `api ${alive ? 'alive' : `exited (code ${target.api.child.exitCode}, signal ${target.api.child.signalCode})`}, /health ${health}, RSS (after a full GC) ${rssStart.toFixed(0)} MB after the warm-up, ${rssRefused.toFixed(0)} MB after the refused batch, ${rssEnd.toFixed(0)} MB at the end`,
      summary.text,
      transient.length
        ? `slower than ${SLOW_MS} ms once, not when sent again alone (the machine, not the request): ${transient.join('; ')}`
        : `no request slower than ${SLOW_MS} ms`,
      loud.length
        ? `${loud.length} api log lines at warn or above: ${[...byMsg].map(([m, n]) => `${m.slice(0, 160)} ×${n}`).join('; ')}\n    e.g. ${loud[0]?.line.slice(0, 1500)}`
        : 'no api log line at warn or above',
      `client errors logged below warn, by code: ${[...quietCodes].map(([code, n]) => `${code} ×${n}`).join(', ')}`,
      written.length
        ? `rows written by requests that must write nothing:\n${describeWrites(written, refused)}`
        : 'no rows written by refused requests',
    ].join('\n');
    // Chasing one finding: every answer of the picked cases.
    if (ONLY)
      for (const { c, o } of results)
        console.log(
          `#${c.id} ${c.group} → ${c.target} as ${c.actor}: ${o.status ?? o.error} ${o.codes.join(',')} ${o.ms} ms ${o.body.slice(0, 160)}`,
        );
    console.log(report);

    expect(summary.failures, report).toBe(0);
    expect(
      loud.map((l) => `${l.level} ${l.msg}`),
      report,
    ).toEqual([]);
    // The mistakes are in the log (the api logs at debug here), with their codes.
    for (const code of ['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED', 'UNAUTHENTICATED', 'BAD_REQUEST'])
      expect(quietCodes.get(code) ?? 0, `${code} logged below warn\n${report}`).toBeGreaterThan(0);
    expect(
      written.map((w) => w.table),
      report,
    ).toEqual([]);
    expect(alive, report).toBe(true);
    expect(health, report).toBe(200);
    expect(rssEnd, report).toBeLessThanOrEqual(rssStart * RSS_GROWTH);
  }, 180_000);
});
