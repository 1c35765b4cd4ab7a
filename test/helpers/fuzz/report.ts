/** What failed, grouped by kind of input: outcome counts and one example request per failing group. */
import { groupBy } from '../../../src/group-by.js';
import type { Result } from './runner.js';

export const SLOW_MS = 2000;

/** The run-wide rules one response breaks (empty: none). */
export function problems({ c, o }: Result): string[] {
  const out: string[] = [];
  if (o.error && !(c.allowReset && /ECONNRESET|EPIPE|socket hang up/.test(o.error)))
    out.push(o.error.startsWith('not run') ? 'not run' : 'no response');
  if (o.status !== null && o.status >= 500) out.push('status >= 500');
  if (o.codes.includes('INTERNAL_SERVER_ERROR')) out.push('INTERNAL_SERVER_ERROR');
  if (o.ms > SLOW_MS) out.push(`slower than ${SLOW_MS} ms`);
  const unmet = c.expect && (o.status !== null || !c.allowReset) ? c.expect(o) : null;
  if (unmet) out.push(`expectation: ${unmet}`);
  return out;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

function describeRequest({ c }: Result): string {
  const r = c.request;
  const body = r.body === undefined ? '' : Buffer.isBuffer(r.body) ? `<${r.body.length} bytes>` : r.body;
  return `${r.method} ${clip(r.path, 120)} as ${c.actor}${r.chunked ? ' (chunked)' : ''} [${r.headers['content-type'] ?? 'no content-type'}] ${clip(body, 300)}`;
}

const outcomeKey = ({ o }: Result) =>
  `${o.status ?? o.error}${o.codes.length ? ` ${[...new Set(o.codes)].sort().join(',')}` : ''}`;

function count(keys: string[]): string {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ×${n}`)
    .join('; ');
}

/** One block per group with a failure; totals first. */
export function summarize(results: Result[]): { failures: number; text: string } {
  const failing = results.filter((r) => problems(r).length);
  const groups = groupBy(results, (r) => r.c.group);
  const lines = [
    `${results.length} requests, ${failing.length} failing: ${count(failing.flatMap((r) => problems(r).map((p) => p.replace(/^expectation: .*/, 'expectation'))))}`,
  ];
  for (const [group, rs] of [...groups.entries()].sort()) {
    const bad = rs.filter((r) => problems(r).length);
    if (!bad.length) continue;
    const example = bad[0] as Result;
    const targets = [...new Set(bad.map((r) => r.c.target))];
    lines.push(
      `✗ ${group}: ${bad.length}/${rs.length} failing — ${count(bad.flatMap(problems))}`,
      `    outcomes: ${count(rs.map(outcomeKey))}`,
      `    targets: ${clip(targets.join(', '), 400)}`,
      `    e.g. case #${example.c.id}: ${describeRequest(example)}`,
      `    → ${example.o.status ?? example.o.error} in ${example.o.ms} ms: ${clip(example.o.body.replace(/\s+/g, ' '), 300)}`,
    );
  }
  const slowest = results
    .filter((r) => r.o.status !== null)
    .sort((a, b) => b.o.ms - a.o.ms)
    .slice(0, 5)
    .map((r) => `${r.o.ms} ms ${r.c.group} → ${clip(r.c.target, 80)}`);
  lines.push(`slowest answers: ${slowest.join('; ')}`);
  return { failures: failing.length, text: lines.join('\n') };
}

/** What the api logged, by level: lines at warn or above (and any that are not a log line), and the codes logged below. */
export interface LogSummary {
  /** At warn level or above (pino: 40 warn, 50 error, 60 fatal), or not JSON at all (level null). */
  loud: { level: number | null; msg: string; line: string }[];
  /** The error codes logged below warn (client mistakes), with their counts. */
  quietCodes: Map<string, number>;
}

/** Reads `output`, the api's stdout and stderr. */
export function summarizeLog(output: string): LogSummary {
  const loud: LogSummary['loud'] = [];
  const quietCodes = new Map<string, number>();
  for (const line of output.split('\n')) {
    if (!line.trim()) continue;
    let entry: { level?: unknown; msg?: unknown; code?: unknown; codes?: unknown } | null = null;
    try {
      entry = JSON.parse(line);
    } catch {
      // not a log line: a crash, a Node warning
    }
    if (!entry || typeof entry.level !== 'number') loud.push({ level: null, msg: line.slice(0, 200), line });
    else if (entry.level >= 40) loud.push({ level: entry.level, msg: String(entry.msg), line });
    else
      for (const code of Array.isArray(entry.codes) ? entry.codes : entry.code ? [entry.code] : [])
        quietCodes.set(String(code), (quietCodes.get(String(code)) ?? 0) + 1);
  }
  return { loud, quietCodes };
}
