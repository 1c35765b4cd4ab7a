/**
 * The fuzzer's target: the real api entry point in its own process (so a crash is seen and its RSS
 * measured), on a database of its own (so row counts are not moved by other test files), with users
 * and objects in every state the mutations need.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { dropDatabase, ensureDatabase } from '../../../src/db/ensure-database.js';
import { applyMigrations } from '../../../src/db/schema-engine.js';
import { gql, until } from '../harness.js';
import { type ApiProcess, GC_ON_SIGNAL, gcNow, spawnApi } from '../process.js';
import { rssMbOf } from '../ws.js';
import type { Fixtures, NodeType, Party } from './schema-cases.js';

export interface Target {
  api: ApiProcess;
  db: pg.Client;
  alive(): boolean;
  /** The api process's resident set, in MB (/proc/<pid>/status VmRSS). */
  rssMb(): Promise<number>;
  stop(): Promise<void>;
}

export async function startTarget(): Promise<Target> {
  const databaseUrl = new URL(inject('databaseUrl'));
  databaseUrl.pathname = `${databaseUrl.pathname}_fuzz_${randomBytes(3).toString('hex')}`;
  await ensureDatabase(databaseUrl.toString());
  await applyMigrations(databaseUrl.toString());
  const storageDir = await mkdtemp(join(tmpdir(), 'dawg-fuzz-'));
  const api = await spawnApi(
    {
      DATABASE_URL: databaseUrl.toString(),
      REDIS_PREFIX: `${inject('redisPrefix')}fuzz${randomBytes(3).toString('hex')}:`,
      STORAGE_DIR: storageDir,
      // Client mistakes are logged at debug: the fuzzer checks none reaches warn, and that they are there.
      LOG_LEVEL: 'debug',
      CHAT_CHUNK_DELAY_MS: '0',
      CHAT_FRAME_MS: '0',
      // The valid addTrack cases pile tracks into the owner's project; a mix of them must still be
      // allowed, so the boundary cases of mixProject test its target, not MIX_MAX_TRACKS (16).
      MIX_MAX_TRACKS: '64',
      // The valid createUpload cases reserve up to 100 MB each; the quota is not what they test.
      UPLOAD_QUOTA_BYTES: String(10 ** 13),
    },
    30_000,
    GC_ON_SIGNAL,
  );
  const db = new pg.Client({ connectionString: databaseUrl.toString() });
  await db.connect();
  const alive = () => api.child.exitCode === null && api.child.signalCode === null;
  return {
    api,
    db,
    alive,
    /** The api's RSS after a full GC. */
    rssMb: async () => {
      await gcNow(api.child.pid as number);
      return rssMbOf(api.child.pid as number);
    },
    stop: async () => {
      await db.end().catch(() => {});
      // A process stuck in a bomb does not stop on SIGTERM in time; it has nothing to flush.
      await Promise.race([api.kill('SIGTERM'), new Promise((r) => setTimeout(r, 3000))]);
      if (alive()) await api.kill('SIGKILL');
      await dropDatabase(databaseUrl.toString());
      await rm(storageDir, { recursive: true, force: true });
    },
  };
}

const uuidOf = (globalId: string) => Buffer.from(globalId, 'base64').toString('utf8').split(':')[1] as string;
const globalId = (type: NodeType, uuid: string) => Buffer.from(`${type}:${uuid}`, 'utf8').toString('base64');

async function must<T>(p: Promise<{ data?: T | null; errors?: unknown }>, what: string): Promise<T> {
  const res = await p;
  if (!res.data) throw new Error(`fixture ${what} failed: ${JSON.stringify(res.errors)}`);
  return res.data;
}

/** A finished generation row, as the worker leaves it (this test runs no worker). */
async function insertGeneration(
  db: pg.Client,
  userId: string,
  projectId: string,
  status: 'COMPLETED' | 'FAILED',
): Promise<string> {
  const output = {
    format: 'mp3',
    files: { mp3: `fuzz/${userId}/a.mp3`, wav: `fuzz/${userId}/a.wav`, midi: null, stems: [] },
    durationSec: 30,
    loudnessLufs: -14,
    truePeakDb: -1.2,
    targetLufs: -14,
  };
  const { rows } = await db.query(
    `INSERT INTO generations (id, user_id, project_id, type, status, input, output, progress, stage, error, updated_at, completed_at)
     VALUES (gen_random_uuid(), $1, $2, 'BEAT', $3, $4, $5, 100, $6, $7, now(), now()) RETURNING id`,
    [
      userId,
      projectId,
      status,
      JSON.stringify({ genre: 'lofi', bpm: 90, key: 'A minor', mood: 'mellow', durationSec: 30, seed: 1, targetLufs: -14 }),
      status === 'COMPLETED' ? JSON.stringify(output) : null,
      status === 'COMPLETED' ? 'done' : 'failed',
      status === 'FAILED' ? 'RENDER_FAILED: fixture' : null,
    ],
  );
  return globalId('Generation', rows[0].id as string);
}

/** A READY upload row in the project, as the worker leaves one (no object is stored: nothing reads it here). */
async function insertUpload(db: pg.Client, userId: string, projectId: string): Promise<string> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO uploads (id, user_id, project_id, key, filename, content_type, size, status, duration_sec, completed_at)
     VALUES ($1, $2, $3, $4, 'fixture.wav', 'audio/wav', 1000, 'READY', 5, now())`,
    [id, userId, projectId, `uploads/${userId}/${id}.wav`],
  );
  return globalId('Upload', id);
}

async function party(url: string, db: pg.Client, name: string): Promise<Party> {
  const email = `${name}-${randomBytes(4).toString('hex')}@example.test`;
  const password = 'correct horse battery';
  // biome-ignore lint/suspicious/noExplicitAny: fixture responses are read field by field
  const q = (query: string, variables: Record<string, unknown> = {}, token?: string) => gql<any>(url, query, variables, token);
  const up = await must(
    q('mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { token user { id } } }', { e: email, p: password }),
    'signUp',
  );
  const token = up.signUp.token as string;
  const user = up.signUp.user.id as string;
  const project = (n: string) =>
    must(
      q('mutation($n: String!) { createProject(name: $n, bpm: 90, key: "A minor") { id } }', { n }, token),
      'createProject',
    ).then((d) => d.createProject.id as string);
  const conversation = (projectId: string) =>
    must(
      q('mutation($p: ID) { createConversation(projectId: $p, title: "fixture") { id } }', { p: projectId }, token),
      'createConversation',
    ).then((d) => d.createConversation.id as string);
  const beat = (projectId: string) =>
    must(
      q(
        'mutation($p: ID) { generateBeat(input: { genre: "lofi", bpm: 90, key: "A minor", projectId: $p }) { id } }',
        { p: projectId },
        token,
      ),
      'generateBeat',
    ).then((d) => d.generateBeat.id as string);
  const projectId = await project(`${name} project`);
  const spareProject = await project(`${name} spare`);
  const conversationId = await conversation(projectId);
  const spareConversation = await conversation(spareProject);
  const sent = await must(
    q(
      'mutation($c: ID!) { sendMessage(conversationId: $c, content: "hello there") { userMessage { id } } }',
      { c: conversationId },
      token,
    ),
    'sendMessage',
  );
  const pending = await beat(projectId);
  const sparePending = await beat(projectId);
  const completed = await insertGeneration(db, uuidOf(user), uuidOf(projectId), 'COMPLETED');
  const failed = await insertGeneration(db, uuidOf(user), uuidOf(projectId), 'FAILED');
  const track = (n: string) =>
    must(
      q(
        'mutation($p: ID!, $g: ID!, $n: String) { addTrack(projectId: $p, generationId: $g, name: $n) { id } }',
        { p: projectId, g: completed, n },
        token,
      ),
      'addTrack',
    ).then((d) => d.addTrack.id as string);
  const trackId = await track('fixture track');
  const spareTrack = await track('spare track');
  return {
    token,
    email,
    password,
    ids: {
      User: user,
      Project: projectId,
      Conversation: conversationId,
      Message: sent.sendMessage.userMessage.id,
      Generation: completed,
      Track: trackId,
      Upload: await insertUpload(db, uuidOf(user), uuidOf(projectId)),
    },
    completed,
    failed,
    pending,
    spare: {
      Project: spareProject,
      Conversation: spareConversation,
      Track: trackId === spareTrack ? trackId : spareTrack,
      pending: sparePending,
    },
  };
}

export async function createFixtures(target: Target): Promise<Fixtures> {
  const owner = await party(target.api.graphqlUrl, target.db, 'owner');
  const stranger = await party(target.api.graphqlUrl, target.db, 'stranger');
  // logOut and logOutEverywhere revoke the token they are called with (logOutEverywhere every token of
  // its user), so they run as a user of their own and the owner's and stranger's cases stay signed in.
  const revocable = await party(target.api.graphqlUrl, target.db, 'revocable');
  await settled(target.db);
  return { owner, stranger, revocableToken: revocable.token };
}

/** Waits until no reply is streaming (a reply writes after its request has been answered). */
export async function settled(db: pg.Client, timeoutMs = 15_000): Promise<void> {
  await until(async () => {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM messages WHERE status = 'STREAMING'`);
    return rows[0].n === 0;
  }, timeoutMs);
}

export interface Snapshot {
  tables: Map<string, Set<string>>;
}

/** Every row of every table (the test database is small), to compare before and after a batch. */
export async function snapshot(db: pg.Client): Promise<Snapshot> {
  const { rows } = await db.query(
    `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY tablename`,
  );
  const tables = new Map<string, Set<string>>();
  for (const { tablename } of rows as { tablename: string }[]) {
    const res = await db.query(`SELECT t::text AS row FROM "${tablename.replace(/"/g, '""')}" t`);
    tables.set(tablename, new Set(res.rows.map((r: { row: string }) => r.row)));
  }
  return { tables };
}

export interface TableChange {
  table: string;
  before: number;
  after: number;
  added: string[];
  removed: string[];
}

/** Tables whose rows differ (inserted, deleted or updated rows). */
export function changes(before: Snapshot, after: Snapshot): TableChange[] {
  const out: TableChange[] = [];
  for (const [table, rows] of after.tables) {
    const old = before.tables.get(table) ?? new Set<string>();
    const added = [...rows].filter((r) => !old.has(r));
    const removed = [...old].filter((r) => !rows.has(r));
    if (added.length || removed.length) out.push({ table, before: old.size, after: rows.size, added, removed });
  }
  return out;
}
