/**
 * A PostgreSQL server process of our own, from the distribution's server programs (Debian:
 * /usr/lib/postgresql/<major>/bin): the streaming replica of `npm run pg:replica` and the tests'
 * scratch primaries. PostgreSQL refuses to run as root, so as root every program runs as the
 * `postgres` account (spawn's uid/gid), in a data directory that account owns.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * The directory holding initdb, pg_basebackup and postgres for `major` (any version when omitted,
 * newest first), or '' when they are on PATH instead.
 */
export function serverBinDir(major?: number): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && (major === undefined || Number(v) === major))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const found = versions.map((v) => join(root, v, 'bin')).find((dir) => existsSync(join(dir, 'pg_basebackup')));
  if (found) return found;
  if (spawnSync('pg_basebackup', ['--version'], { stdio: 'ignore' }).status === 0) return '';
  throw new Error(
    `PostgreSQL's server programs${major ? ` for version ${major}` : ''} (initdb, pg_basebackup, postgres) are not installed (Debian/Ubuntu: apt-get install postgresql${major ? `-${major}` : ''})`,
  );
}

/** The uid and gid the server programs run as: the `postgres` account when we are root, else ourselves. */
export function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!uid || Number.isNaN(uid)) throw new Error('running as root, PostgreSQL needs a `postgres` account to run as');
  return { uid, gid };
}

/** An empty directory under the system's temp directory, owned by the account the server runs as. */
export async function makeDataDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const user = serverUser();
  if (user) await chown(dir, user.uid, user.gid);
  return dir;
}

/** Runs one of the server programs to completion; rejects with what it printed when it fails. */
export function runServerProgram(binDir: string, program: string, args: string[]): Promise<void> {
  const user = serverUser();
  return new Promise((resolve, reject) => {
    const child = spawn(join(binDir, program), args, {
      ...user,
      // ~/.pgpass and the like are looked for in HOME: not root's, which the postgres account cannot read.
      env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      out += c;
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${program} failed (${code}): ${out.trim()}`))));
  });
}

/** Waits until `url` accepts a connection and a query (a standby: once it has reached a consistent state). */
export async function acceptsQueries(url: string, timeoutMs = 30_000, running: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline && running()) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (err) {
      last = (err as Error).message;
    } finally {
      await client.end().catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`PostgreSQL at ${new URL(url).host} does not answer: ${running() ? last : 'the server exited'}`);
}

/** `postgres` on a data directory, listening on 127.0.0.1:`port` (and a socket in the data directory). */
export class PostgresServer {
  private child: ChildProcess | null = null;
  private log = '';

  constructor(
    readonly binDir: string,
    readonly dataDir: string,
    readonly port: number,
    /** Extra `-c name=value` settings. */
    private readonly settings: Record<string, string | number> = {},
  ) {}

  /** A connection URL to `database` as the postgres superuser. */
  url(database = 'postgres'): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the server; resolves once it answers queries. */
  async start(): Promise<void> {
    if (this.running) return;
    const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: this.dataDir, ...this.settings };
    const args = ['-D', this.dataDir, '-p', String(this.port)];
    for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
    this.log = '';
    const child = spawn(join(this.binDir, 'postgres'), args, {
      ...serverUser(),
      env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), LC_ALL: 'C' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // The server logs to stderr: the tail is kept for the error when it does not come up.
    child.stderr?.on('data', (c) => {
      this.log = (this.log + c).slice(-4000);
    });
    this.child = child;
    try {
      await acceptsQueries(this.url(), 30_000, () => this.running);
    } catch (err) {
      await this.stop();
      throw new Error(`${(err as Error).message}\n${this.log.trim()}`);
    }
  }

  /** Stops the server: `fast` (SIGINT: sessions are ended, a clean shutdown) or `immediate` (SIGQUIT, as a crash). */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the server and deletes its data directory. */
  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
