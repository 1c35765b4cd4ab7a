#!/usr/bin/env node
/**
 * `npm run lockfile:platforms`, after any change to dependencies.
 *
 * The registry mirror this project is built against lacks some packages'
 * binaries for other platforms (e.g. @biomejs/cli-darwin-arm64), so npm leaves
 * them out of package-lock.json, and `npm ci` then rejects the lock as out of
 * sync. This adds each missing optional platform package the way a lock made
 * against the full registry lists it: name, version and its os/cpu/libc, so
 * every platform's `npm ci` accepts the lock and skips what does not apply.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix', 'openharmony'];
const CPU = ['x64', 'arm64', 'arm', 'ia32', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el'];

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.find((p) => CPU.includes(p));
  if (!os || !cpu) return null;
  const libc = os === 'linux' ? (parts.includes('musl') ? 'musl' : 'glibc') : undefined;
  return { os: [os], cpu: [cpu], ...(libc ? { libc: [libc] } : {}) };
}

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const added = [];
for (const [key, pkg] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const target = `node_modules/${dep}`;
    if (lock.packages[target] || lock.packages[`${key}/${target}`]) continue;
    const platform = platformOf(dep);
    if (!platform || !/^\d+\.\d+\.\d+/.test(version)) {
      console.error(`cannot describe optional ${dep}@${version} (needed by ${key || 'the root'}); add it by hand`);
      process.exitCode = 1;
      continue;
    }
    lock.packages[target] = { version, ...(pkg.dev ? { dev: true } : {}), license: 'UNKNOWN', optional: true, ...platform };
    added.push(`${dep}@${version}`);
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(
  added.length ? `added ${added.length}: ${added.join(', ')}` : 'package-lock.json lists every optional platform package',
);
