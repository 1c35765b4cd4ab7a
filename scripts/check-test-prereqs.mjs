#!/usr/bin/env node
/**
 * First step of `npm test`: the tests need PostgreSQL (and its server programs, for the read-replica
 * tests' own primary and replica), Redis, ffmpeg (an independent audio meter), Chromium (GraphiQL in
 * a real browser), promtool (the alert rules) and HAProxy (the load balancer). When one is missing,
 * say so in one line and stop within seconds, rather than let dozens of tests fail on it.
 */
import { ffmpegPath } from './lib/ffmpeg.mjs';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';

function reachable(url, fallbackPort) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname || '127.0.0.1', port: Number(port || fallbackPort) });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const hasCommand = (cmd) => spawnSync(cmd, ['-version'], { stdio: 'ignore' }).status === 0;

const database = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const redis = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const missing = [];
if (!(await reachable(database, 5432)))
  missing.push(`PostgreSQL at ${new URL(database).host} (set TEST_DATABASE_URL, or start it)`);
if (!(await reachable(redis, 6379))) missing.push(`Redis at ${new URL(redis).host} (set TEST_REDIS_URL, or start it)`);
// npm ci brings ffmpeg (@ffmpeg-installer/ffmpeg) for Linux, macOS and Windows; elsewhere, the system's.
if (!hasCommand(ffmpegPath())) missing.push('ffmpeg (Debian/Ubuntu: apt-get install ffmpeg)');
if (spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status !== 0)
  missing.push('promtool, for the alert rules (Debian/Ubuntu: apt-get install prometheus)');
if (spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status !== 0)
  missing.push('haproxy, for the load-balancer tests (Debian/Ubuntu: apt-get install haproxy)');
// The read-replica tests run initdb, pg_basebackup and postgres themselves (scripts/lib/postgres-server.ts).
const pgRoot = '/usr/lib/postgresql';
const serverPrograms = (existsSync(pgRoot) ? readdirSync(pgRoot) : []).some((v) =>
  ['initdb', 'pg_basebackup', 'postgres'].every((p) => existsSync(`${pgRoot}/${v}/bin/${p}`)),
);
if (!serverPrograms && spawnSync('pg_basebackup', ['--version'], { stdio: 'ignore' }).status !== 0)
  missing.push("PostgreSQL's server programs initdb, pg_basebackup and postgres (Debian/Ubuntu: apt-get install postgresql)");
if (process.getuid?.() === 0 && spawnSync('id', ['-u', 'postgres'], { stdio: 'ignore' }).status !== 0)
  missing.push('a postgres account (as root, the read-replica tests run PostgreSQL as postgres: it refuses root)');
if (!existsSync(chromium)) missing.push(`chromium at ${chromium} (apt-get install chromium, or set CHROMIUM_PATH)`);

if (missing.length) {
  console.error(`npm test needs: ${missing.join('; ')}`);
  process.exit(1);
}
