/**
 * The Grafana dashboards (deploy/grafana/dashboards/*.json): every panel query parses (promtool
 * checks them as recording rules) and every dawg_* metric it reads is exported by a running api
 * or a running worker, so no panel stays empty because of a renamed or missing metric.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createOwnDatabase } from '../helpers/database.js';
import { type RunningApp, startApp } from '../helpers/harness.js';
import { exportedNames, scrape } from '../helpers/metrics.js';
import { type ApiProcess, spawnWorker } from '../helpers/process.js';

const DIR = fileURLToPath(new URL('../../deploy/grafana/dashboards/', import.meta.url));
const EXPECTED = ['ai-usage.json', 'api.json', 'queue-worker.json', 'websocket.json'];

interface Panel {
  id: number;
  title: string;
  datasource?: { uid?: string };
  targets?: { refId: string; expr: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}
interface Query {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
  datasource?: string;
}

async function queries(): Promise<Query[]> {
  const out: Query[] = [];
  for (const file of (await readdir(DIR)).filter((f) => f.endsWith('.json')).sort()) {
    const board = JSON.parse(await readFile(join(DIR, file), 'utf8')) as { panels: Panel[] };
    const walk = (panels: Panel[]) => {
      for (const p of panels) {
        for (const t of p.targets ?? [])
          out.push({
            dashboard: file,
            panel: p.title,
            refId: t.refId,
            expr: t.expr,
            datasource: t.datasource?.uid ?? p.datasource?.uid,
          });
        walk(p.panels ?? []);
      }
    };
    walk(board.panels);
  }
  return out;
}

let storageDir: string;
let api: RunningApp;
let worker: ApiProcess;
let exported: Set<string>;
let database: Awaited<ReturnType<typeof createOwnDatabase>>;
beforeAll(async () => {
  storageDir = await mkdtemp(join(tmpdir(), 'dawg-dashboards-'));
  database = await createOwnDatabase(); // its worker reconciles this file's rows only
  const env = {
    DATABASE_URL: database.url,
    STORAGE_DIR: storageDir,
    REDIS_PREFIX: `${inject('redisPrefix')}dash${randomBytes(3).toString('hex')}:`,
  };
  [api, worker] = await Promise.all([startApp(env), spawnWorker(env)]);
  const [apiText, workerText] = await Promise.all([scrape(api.url), scrape(worker.url)]);
  exported = new Set([...exportedNames(apiText), ...exportedNames(workerText)]);
}, 60_000);
afterAll(async () => {
  await worker?.kill('SIGTERM');
  await api?.stop();
  await rm(storageDir, { recursive: true, force: true });
  await database?.drop();
});

describe('Grafana dashboards', () => {
  it('are the four, each panel query on the prometheus datasource', async () => {
    expect((await readdir(DIR)).filter((f) => f.endsWith('.json')).sort()).toEqual(EXPECTED);
    const all = await queries();
    for (const file of EXPECTED) expect(all.filter((q) => q.dashboard === file).length, file).toBeGreaterThanOrEqual(5);
    for (const q of all) expect(q.datasource, `${q.dashboard} ${q.panel}`).toBe('prometheus');
  });

  it('have queries that parse (promtool check rules)', async () => {
    const all = await queries();
    const rules = all.map((q, i) => `      - record: dashboard:query:${i}\n        expr: ${JSON.stringify(q.expr)}`);
    const file = join(storageDir, 'dashboards.rules.yml');
    await writeFile(file, `groups:\n  - name: dashboards\n    rules:\n${rules.join('\n')}\n`);
    const run = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 60_000 });
    if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
      throw new Error('promtool is not installed: install Prometheus (Debian/Ubuntu: apt-get install prometheus)');
    const output = `${run.stdout}${run.stderr}`;
    // promtool names a bad rule by its index; the message says which query that is.
    const bad = [...output.matchAll(/dashboard:query:(\d+)/g)].map((m) => all[Number(m[1])]);
    expect(run.status, `${output}\n${JSON.stringify(bad, null, 2)}`).toBe(0);
    expect(output).toContain(`SUCCESS: ${all.length} rules found`);
  });

  it('read only dawg_* metrics that a running api or worker exports', async () => {
    expect(exported.has('dawg_http_requests_total')).toBe(true);
    expect(exported.has('dawg_queue_jobs')).toBe(true);
    const missing: string[] = [];
    for (const q of await queries())
      for (const [name] of q.expr.matchAll(/\bdawg_[a-z0-9_]+\b/g))
        if (!exported.has(name)) missing.push(`${q.dashboard} "${q.panel}" ${q.refId}: ${name}`);
    expect(missing).toEqual([]);
  });
});
