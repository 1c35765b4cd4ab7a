/**
 * `dist/` built from the sources when it is missing or older than them: what `npm start` runs, and
 * the api the benchmarks measure (scripts/bench/lib.ts), as production runs it.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
export const DIST = join(ROOT, 'dist');
const BUILD_INFO = join(DIST, '.tsbuildinfo');
/** What the build compiles (tsconfig.build.json), and what it depends on. */
const SOURCES = ['src', 'worker', 'scripts/db', 'tsconfig.json', 'tsconfig.build.json'];

/** Files the compiled code reads beside itself, copied into dist/ as they are. */
const ASSETS = ['worker/engine/lame/lame.wasm'];

/** The newest modification time under `path` (a file or a directory), 0 when absent. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

/**
 * Builds dist/ when it is stale; `say` reports what happens. Exits the process (1, or the build's
 * status) when it cannot: no sources and no dist/, no TypeScript (dev dependencies), a failed build.
 * An installed image has a built dist/ and no sources: nothing is built.
 */
export function buildIfStale(say) {
  const hasSources = existsSync(join(ROOT, 'src'));
  if (!hasSources) {
    if (existsSync(join(DIST, 'src', 'main.js'))) return;
    say('dist/ is missing and there are no sources to build it from');
    process.exit(1);
  }
  const built = existsSync(join(DIST, 'src', 'main.js')) && existsSync(BUILD_INFO) ? statSync(BUILD_INFO).mtimeMs : 0;
  if (built && Math.max(...SOURCES.map((s) => newest(join(ROOT, s)))) <= built) return;
  say(built ? 'sources changed since the last build: building dist/' : 'building dist/ (first start)');
  build(say);
}

/**
 * `npm run build`: compiles the sources into dist/ (tsconfig.build.json) and copies the assets beside
 * them. Exits the process when it cannot (no TypeScript, a failed compile).
 */
export function build(say) {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    say('the build needs the dev dependencies (npm ci), or run a built dist/');
    process.exit(1);
  }
  const result = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (result.status !== 0) {
    say('the build failed');
    process.exit(result.status ?? 1);
  }
  for (const asset of ASSETS) {
    mkdirSync(dirname(join(DIST, asset)), { recursive: true });
    copyFileSync(join(ROOT, asset), join(DIST, asset));
  }
  // tsc leaves its build info as it was when no output changed (a source saved again as it was), and
  // buildIfStale would then build on every start: the build info is stamped as of this build.
  const now = new Date();
  if (existsSync(BUILD_INFO)) utimesSync(BUILD_INFO, now, now);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) build((message) => console.error(`build: ${message}`));
