/**
 * What the image holds (issue 11; no container engine runs here): production dependencies only
 * (`npm ci --omit=dev`), the compiled `dist/` and `prisma/`, in a directory of their own. From there,
 * plain `node` runs the release step (migrate and exit), the api and a worker, with no TypeScript
 * loader anywhere, until a beat is made and downloads.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { spawnTs, type TsProcess } from '../../scripts/lib/spawn-ts.js';
import { dropDatabase } from '../../src/db/ensure-database.js';
import { signUp, testEnv } from '../helpers/harness.js';
import { beatDone } from '../helpers/stack.js';

const REPO = join(import.meta.dirname, '..', '..');
let dir: string;
const procs: TsProcess[] = [];

beforeAll(() => {
  // `npm test` builds before the tests; run alone, this builds too.
  if (!existsSync(join(REPO, 'dist', 'src', 'main.js'))) execFileSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'ignore' });
  dir = mkdtempSync(join(tmpdir(), 'dawg-image-'));
  for (const entry of ['package.json', 'package-lock.json', 'prisma', 'dist'])
    cpSync(join(REPO, entry), join(dir, entry), { recursive: true });
  // --ignore-scripts: the client generation and GraphiQL download of postinstall are build-time work.
  execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'ignore' });
}, 240_000);

let databaseUrl: string | undefined;
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  if (databaseUrl) await dropDatabase(databaseUrl);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('runs migrate, the api and a worker from production dependencies and dist/ alone, until a beat downloads', async () => {
  // No TypeScript loader or test tooling (typescript itself comes as @prisma/client's optional peer).
  for (const dev of ['tsx', 'vitest', '@biomejs/biome']) expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false);
  // A database of its own, empty, which the release step migrates: in the shared one, the worker's
  // reconciler would render other files' PENDING generations before this beat.
  const database = new URL(inject('databaseUrl'));
  database.pathname = `${database.pathname}_image_${randomBytes(3).toString('hex')}`;
  databaseUrl = database.toString();
  const env = testEnv({
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'info',
    MIGRATE_ON_START: 'false',
    STORAGE_DIR: join(dir, 'storage'),
    REDIS_PREFIX: `${inject('redisPrefix')}image-${randomBytes(3).toString('hex')}:`,
    WORKER_CONCURRENCY: '1',
  });
  const migrate = spawnSync(process.execPath, ['dist/scripts/db/migrate.js'], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  expect(migrate.status, migrate.stderr).toBe(0);
  expect(migrate.stdout).toMatch(/applied:/);

  const api = await spawnTs('dist/src/main.js', env, /listening on (http:\/\/[^/\s]+)\/graphql/, { cwd: dir, tsx: false });
  procs.push(api);
  procs.push(await spawnTs('dist/worker/main.js', env, /dawg worker ready/, { cwd: dir, tsx: false }));
  const graphqlUrl = `${api.match[1]}/graphql`;
  const user = await signUp(graphqlUrl);
  const done = await beatDone({ graphqlUrl }, user.token);
  expect(done.status).toBe('COMPLETED');
  const audio = await fetch(done.output?.audioUrl as string);
  expect(audio.status).toBe(200);
  expect((await audio.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
}, 120_000);
