#!/usr/bin/env node
/**
 * Runs on install. Yoga's GraphiQL page loads its scripts from a CDN; dawg
 * serves the same build itself (so GraphiQL works offline and under a strict
 * CSP). The package's self-contained browser build is taken from the npm
 * registry with `npm pack` (its own dependency tree is not needed for that
 * build) and unpacked into node_modules/.cache/dawg-graphiql. If this fails,
 * the api falls back to yoga's CDN page and says so in its log.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GRAPHIQL_VERSION = '4.5.0';
const target = fileURLToPath(new URL('../node_modules/.cache/dawg-graphiql/', import.meta.url));
const stamp = join(target, 'VERSION');

if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === GRAPHIQL_VERSION) process.exit(0);
const work = mkdtempSync(join(tmpdir(), 'dawg-graphiql-'));
try {
  const out = execFileSync(
    'npm',
    ['pack', `@graphql-yoga/graphiql@${GRAPHIQL_VERSION}`, '--silent', '--pack-destination', work],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const tarball = join(work, out.trim().split('\n').pop() ?? '');
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=2', 'package/dist']);
  writeFileSync(stamp, `${GRAPHIQL_VERSION}\n`);
  console.log(`GraphiQL ${GRAPHIQL_VERSION} ready in ${target}`);
} catch (err) {
  console.warn(`could not fetch GraphiQL assets (${err.message.split('\n')[0]}); GraphiQL will load them from a CDN`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
