#!/usr/bin/env node
/**
 * `npm start`: the api and one worker on one machine, as two processes (the audio engine is
 * CPU-bound and must not stall the api), in plain JavaScript so nothing compiles at run time.
 *
 * 1. Loads `.env` from the working directory when there is one, with Node's own loader; variables
 *    already set win over the file.
 * 2. Builds `dist/` (`npm run build`) when it is missing or older than the sources, as after a fresh
 *    clone or a pull. An installed image has a built `dist/` and no sources: nothing is built.
 * 3. Checks the configuration once, so a mistake is reported once instead of restarted in a loop.
 * 4. Runs `node --min-semi-space-size=16 --no-allocation-site-pretenuring dist/src/main.js` (scripts/lib/api-env.mjs's node options,
 *    and its environment defaults, such as MALLOC_ARENA_MAX=2, where the environment does not set
 *    them) and `node dist/worker/main.js`. A child that dies on its own (a crash, an out-of-memory
 *    SIGKILL) is started again after a backoff: 1 s, doubling to 30 s, back to 1 s once it has run
 *    for a minute; the other child keeps running. A child that fails MAX_QUICK_FAILURES times in a
 *    row, each within QUICK seconds of its start, stops everything: the exit status is then non-zero
 *    (128 + the signal's number, as a shell reports it, or the child's code), so a process manager
 *    set to restart on failure does.
 *
 * SIGTERM and SIGINT are passed on to both children; a clean stop exits 0.
 * `--dev`: runs the sources through tsx in watch mode instead (no build; restarts on change).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { API_NODE_ARGS, apiEnv } from './lib/api-env.mjs';
import { buildIfStale, DIST, ROOT } from './lib/build-dist.mjs';

const QUICK_MS = 10_000;
const MAX_QUICK_FAILURES = 5;
const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;
const HEALTHY_MS = 60_000;

const dev = process.argv.includes('--dev');
const say = (message) => console.error(`dawg: ${message}`);

if (existsSync(join(process.cwd(), '.env'))) {
  process.loadEnvFile(join(process.cwd(), '.env'));
  say('loaded .env');
}

/** The configuration check of the processes themselves: prints every problem and exits 1. */
function checkConfig() {
  const secrets = pathToFileURL(dev ? join(ROOT, 'src', 'secrets.ts') : join(DIST, 'src', 'secrets.js')).href;
  const check = `import(${JSON.stringify(secrets)}).then((m) => { m.loadAppConfigOrExit(); })`;
  const args = [...(dev ? ['--import', 'tsx'] : []), '--input-type=module', '-e', check];
  const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: process.cwd() });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const entry = (file, nodeArgs = []) =>
  dev
    ? [...nodeArgs, '--import', 'tsx', '--watch', join(ROOT, `${file}.ts`)]
    : [...nodeArgs, '--enable-source-maps', join(DIST, `${file}.js`)];
const programs = [
  { name: 'api', args: entry('src/main', API_NODE_ARGS), env: apiEnv() },
  { name: 'worker', args: entry('worker/main'), env: {} },
];

if (!dev) buildIfStale(say);
checkConfig();

let stopping = null;
let exitCode = 0;
const running = new Map();

/** Starts `program`; `failures` counts its failures in a row (a run of HEALTHY_MS resets it), `quick` those within QUICK_MS of a start. */
function start(program, failures = 0, quick = 0) {
  const startedAt = Date.now();
  const child = spawn(process.execPath, program.args, { stdio: 'inherit', env: { ...process.env, ...program.env } });
  running.set(program.name, child);
  child.once('exit', (code, signal) => {
    running.delete(program.name);
    if (stopping) {
      if (running.size === 0) process.exit(exitCode);
      return;
    }
    const ran = Date.now() - startedAt;
    const how = signal ? `killed by ${signal}` : `exited with ${code}`;
    const nextQuick = ran < QUICK_MS ? quick + 1 : 0;
    if (nextQuick >= MAX_QUICK_FAILURES) {
      say(
        `${program.name} (pid ${child.pid}) ${how}, ${nextQuick} times in a row within ${QUICK_MS / 1000} s of starting; stopping`,
      );
      exitCode = (signal ? 128 + (constants.signals[signal] ?? 0) : code) || 1;
      stopAll('SIGTERM');
      return;
    }
    const nextFailures = ran >= HEALTHY_MS ? 1 : failures + 1;
    const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (nextFailures - 1));
    say(`${program.name} (pid ${child.pid}) ${how}; restarting in ${delay / 1000} s`);
    setTimeout(() => {
      if (!stopping) start(program, nextFailures, nextQuick);
    }, delay);
  });
}

function stopAll(signal) {
  stopping = signal;
  if (running.size === 0) process.exit(exitCode);
  for (const child of running.values()) child.kill(signal);
}

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => stopAll(signal));
for (const program of programs) start(program);
