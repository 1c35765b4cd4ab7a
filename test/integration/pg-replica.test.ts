/**
 * PostgreSQL read replicas (issue 13): a scratch primary of this file's own (initdb) and a streaming
 * replica made from it with pg_basebackup (scripts/topology/pg-replica.ts), each on a free port.
 *
 * Routing is proved with replay paused on the replica (pg_wal_replay_pause): a row written on the
 * primary since then is missing from whatever read the replica, and there in whatever read the
 * primary. Rows written straight to the primary stand for other users' writes (no write mark).
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type PgReplica, ReplicationRefused, startPgReplica } from '../../scripts/topology/pg-replica.js';
import type { PostgresServer } from '../../scripts/lib/postgres-server.js';
import { ensureDatabase } from '../../src/db/ensure-database.js';
import { REPLICA_CHECK_MS } from '../../src/db/replicas.js';
import { WriteMarks } from '../../src/db/write-marks.js';
import { applyMigrations } from '../../src/db/schema-engine.js';
import { transition } from '../../src/modules/generations/generation-state.js';
import { freePort, gql, rawId, type RunningApp, signUp, startApp, type TestUser, until } from '../helpers/harness.js';
import { sample, scrape } from '../helpers/metrics.js';
import { startScratchPrimary } from '../helpers/pg-primary.js';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const PROJECTS = 'query { projects(first: 100) { edges { node { id name } } } }';
const GENERATIONS = 'query { generations(first: 100) { edges { node { id status } } } }';
const CONVERSATIONS = 'query { conversations(first: 100) { edges { node { id } } } }';
const HISTORY = 'query($id: ID!) { conversation(id: $id) { messages { totalCount edges { node { content } } } } }';
const USAGE = 'query { usage { generations { type count } } }';
const PROJECT = 'query($id: ID!) { project(id: $id) { name } }';

describe('PostgreSQL read replica', () => {
  let primary: PostgresServer;
  let replica: PgReplica;
  let databaseUrl: string;
  let api: RunningApp;
  let direct: pg.Pool;
  let alice: TestUser;
  let bob: TestUser;

  const env = () => ({ DATABASE_URL: databaseUrl, DATABASE_REPLICA_URL: replica.url, DATABASE_POOL_SIZE: '4' });

  /** Waits until the replica has replayed all the primary has written, and every api has checked it since. */
  async function caughtUp() {
    const [{ lsn }] = (await direct.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows;
    const standby = new pg.Client({ connectionString: replica.url });
    await standby.connect();
    try {
      await until(
        async () => (await standby.query('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [lsn])).rows[0].ok,
        10_000,
      );
    } finally {
      await standby.end();
    }
    await new Promise((r) => setTimeout(r, 3 * REPLICA_CHECK_MS));
  }

  /** A project of `user`'s written straight to the primary: someone else's write, as far as marks go. */
  async function projectOnPrimary(user: TestUser, name: string): Promise<string> {
    const { rows } = await direct.query(
      `WITH p AS (INSERT INTO projects (id, owner_id, name, updated_at) VALUES (gen_random_uuid(), $1, $2, now()) RETURNING id)
       INSERT INTO project_members (project_id, user_id, role) SELECT id, $1, 'OWNER' FROM p RETURNING project_id`,
      [uid(user), name],
    );
    return rows[0].project_id;
  }

  /** A user's row id (their TestUser id is a global id). */
  const uid = (user: TestUser) => rawId(user.id);

  const names = async (token: string, app = api) =>
    ((await gql(app.graphqlUrl, PROJECTS, {}, token)).data?.projects.edges ?? []).map(
      (e: { node: { name: string } }) => e.node.name,
    );

  const ready = async (app: RunningApp) => {
    const res = await fetch(`${app.url}/ready`);
    return { status: res.status, body: (await res.json()) as { replicas?: string[]; database?: string } };
  };

  beforeAll(async () => {
    primary = await startScratchPrimary(await freePort());
    databaseUrl = primary.url('dawg');
    await ensureDatabase(databaseUrl);
    await applyMigrations(databaseUrl);
    replica = await startPgReplica({ primaryUrl: databaseUrl, port: await freePort() });
    direct = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    api = await startApp(env());
    alice = await signUp(api.graphqlUrl);
    bob = await signUp(api.graphqlUrl);
    await caughtUp();
  }, 90_000);

  afterEach(async () => {
    if (!replica.server.running) await replica.server.start();
    await replica.resumeReplay();
  });

  afterAll(async () => {
    await api?.stop();
    await direct?.end();
    await replica?.stop();
    await primary?.destroy();
  });

  it('reads lists, history and usage from the replica, and an item by id from the primary', async () => {
    const conversation = (await gql(api.graphqlUrl, 'mutation { createConversation { id } }', {}, alice.token)).data
      ?.createConversation.id as string;
    await caughtUp();
    const before = sample(await scrape(api.url), 'dawg_db_lag_tolerant_reads_total', { route: 'replica' }) ?? 0;
    await replica.pauseReplay();

    // Written on the primary since the replica stopped replaying.
    const project = await projectOnPrimary(alice, 'after the pause');
    await direct.query(
      `INSERT INTO generations (id, user_id, type, status, input, updated_at) VALUES (gen_random_uuid(), $1, 'BEAT', 'COMPLETED', '{}', now())`,
      [uid(alice)],
    );
    await direct.query(`INSERT INTO conversations (id, user_id, updated_at) VALUES (gen_random_uuid(), $1, now())`, [uid(alice)]);
    await direct.query(`INSERT INTO messages (id, conversation_id, role, content) VALUES (gen_random_uuid(), $1, 'USER', 'hi')`, [
      rawId(conversation),
    ]);

    expect(await names(alice.token)).not.toContain('after the pause');
    expect((await gql(api.graphqlUrl, GENERATIONS, {}, alice.token)).data?.generations.edges).toEqual([]);
    expect((await gql(api.graphqlUrl, CONVERSATIONS, {}, alice.token)).data?.conversations.edges).toHaveLength(1);
    const history = await gql(api.graphqlUrl, HISTORY, { id: conversation }, alice.token);
    expect(history.data?.conversation.messages.totalCount).toBe(0);
    expect((await gql(api.graphqlUrl, USAGE, {}, alice.token)).data?.usage.generations).toEqual([]);
    // Not a read that tolerates lag: the primary has it.
    const byId = await gql(api.graphqlUrl, PROJECT, { id: Buffer.from(`Project:${project}`).toString('base64') }, alice.token);
    expect(byId.data?.project.name).toBe('after the pause');
    const after = sample(await scrape(api.url), 'dawg_db_lag_tolerant_reads_total', { route: 'replica' }) ?? 0;
    expect(after - before).toBe(5); // projects, generations, conversations, history, usage

    await replica.resumeReplay();
    await caughtUp();
    expect(await names(alice.token)).toContain('after the pause');
    expect((await gql(api.graphqlUrl, HISTORY, { id: conversation }, alice.token)).data?.conversation.messages.totalCount).toBe(
      1,
    );
  });

  it("a user reads their own writes while the replica lags, through any api instance; others' reads stay on the replica", async () => {
    const other = await startApp(env());
    try {
      await replica.pauseReplay();
      const created = await gql(api.graphqlUrl, 'mutation { createProject(name: "mine, just now") { id } }', {}, alice.token);
      expect(created.errors).toBeUndefined();
      expect(await names(alice.token)).toContain('mine, just now');
      expect(await names(alice.token, other)).toContain('mine, just now');
      // bob has written nothing: his list still comes from the replica.
      await projectOnPrimary(bob, "bob's, on the primary only");
      expect(await names(bob.token)).not.toContain("bob's, on the primary only");
      expect(sample(await scrape(api.url), 'dawg_db_lag_tolerant_reads_total', { route: 'own_write' })).toBeGreaterThan(0);

      // Once the replica has replayed alice's write, her lists go back to it.
      await replica.resumeReplay();
      await caughtUp();
      await replica.pauseReplay();
      await projectOnPrimary(alice, 'alice, on the primary only');
      expect(await names(alice.token)).not.toContain('alice, on the primary only');
      expect(await names(alice.token)).toContain('mine, just now');
    } finally {
      await other.stop();
    }
  });

  it("a generation's new status (the worker's write) is in its owner's list at once", async () => {
    const { rows } = await direct.query(
      `INSERT INTO generations (id, user_id, type, status, input, updated_at) VALUES (gen_random_uuid(), $1, 'BEAT', 'PROCESSING', '{}', now()) RETURNING id`,
      [uid(bob)],
    );
    await caughtUp();
    await replica.pauseReplay();
    // What the worker runs when a job ends (worker/processor.ts), with its marks.
    const marks = new WriteMarks({
      prisma: api.app.prisma,
      redis: api.app.redis,
      prefix: inject('redisPrefix'),
      maxLagMs: 10_000,
    });
    await transition({ prisma: api.app.prisma, pubsub: api.app.services.pubsub, marks }, rows[0].id, { status: 'COMPLETED' });
    const list = await gql(api.graphqlUrl, GENERATIONS, {}, bob.token);
    expect(list.data?.generations.edges).toContainEqual({
      node: { id: Buffer.from(`Generation:${rows[0].id}`).toString('base64'), status: 'COMPLETED' },
    });
  });

  it('a replica further behind than DATABASE_REPLICA_MAX_LAG_MS is not read from, and /ready says it lags', async () => {
    const strict = await startApp({ ...env(), DATABASE_REPLICA_MAX_LAG_MS: '1000' });
    try {
      expect((await ready(strict)).body.replicas).toEqual(['ok']);
      await replica.pauseReplay();
      await projectOnPrimary(bob, 'behind by more than a second');
      await until(async () => (await ready(strict)).body.replicas?.[0] === 'lagging', 5_000);
      expect((await ready(strict)).status).toBe(200);
      expect(await names(bob.token, strict)).toContain('behind by more than a second');
      // The default allows 10 s: that api still reads the replica.
      expect(await names(bob.token)).not.toContain('behind by more than a second');
      await replica.resumeReplay();
      await until(async () => (await ready(strict)).body.replicas?.[0] === 'ok', 5_000);
    } finally {
      await strict.stop();
    }
  });

  it('with the replica down, reads fall back to the primary and /ready reports it; when it is back, reads go to it again', async () => {
    await replica.server.stop('immediate');
    await projectOnPrimary(bob, 'while the replica was down');
    // The first read may find it down before a check does: it runs again on the primary.
    expect(await names(bob.token)).toContain('while the replica was down');
    await until(async () => (await ready(api)).body.replicas?.[0] === 'unavailable', 5_000);
    const down = await ready(api);
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({ status: 'ready', database: 'ok', replicas: ['unavailable'] });
    expect(await names(bob.token)).toContain('while the replica was down');

    await replica.server.start();
    await until(async () => (await ready(api)).body.replicas?.[0] === 'ok', 10_000);
    await caughtUp();
    await replica.pauseReplay();
    await projectOnPrimary(bob, 'after it came back');
    expect(await names(bob.token)).not.toContain('after it came back');
    expect(await names(bob.token)).toContain('while the replica was down');
  });

  it('pg:replica stops with one line naming the pg_hba.conf line to add when the primary refuses replication', async () => {
    const hba = join(primary.dataDir, 'pg_hba.conf');
    const original = await readFile(hba, 'utf8');
    const reload = () => direct.query('SELECT pg_reload_conf()');
    try {
      await writeFile(hba, original.replace(/^(local|host)\s+replication.*$/gm, ''));
      await reload();
      const refused = await startPgReplica({ primaryUrl: databaseUrl, port: await freePort() }).catch((err) => err);
      expect(refused).toBeInstanceOf(ReplicationRefused);
      expect(refused.message).toMatch(
        /^the primary at 127\.0\.0\.1:\d+ refuses replication connections: add "host replication all 127\.0\.0\.1\/32 trust" to \S+pg_hba\.conf and reload it/,
      );
      expect(refused.message).not.toContain('\n');
    } finally {
      await writeFile(hba, original);
      await reload();
    }
  });
});

/** The machine's own cluster and its replica from `npm run pg:replica`, which .ci/run starts (TEST_DATABASE_REPLICA_URL). */
describe.skipIf(!process.env.TEST_DATABASE_REPLICA_URL)("the machine's replica (npm run pg:replica)", () => {
  it('streams the per-run test database, and dawg reads its lists from it', async () => {
    const replicaUrl = new URL(process.env.TEST_DATABASE_REPLICA_URL as string);
    replicaUrl.pathname = new URL(inject('databaseUrl')).pathname;
    const app = await startApp({ DATABASE_REPLICA_URL: replicaUrl.toString() });
    const standby = new pg.Client({ connectionString: replicaUrl.toString() });
    await standby.connect();
    try {
      expect(await (await fetch(`${app.url}/ready`)).json()).toMatchObject({ status: 'ready', replicas: ['ok'] });
      const user = await signUp(app.graphqlUrl);
      const created = await gql(app.graphqlUrl, 'mutation { createProject(name: "streamed") { id } }', {}, user.token);
      const id = rawId(created.data?.createProject.id);
      await until(async () => (await standby.query('SELECT 1 FROM projects WHERE id = $1', [id])).rowCount === 1, 10_000);
      await new Promise((r) => setTimeout(r, 3 * REPLICA_CHECK_MS));
      const before = sample(await scrape(app.url), 'dawg_db_lag_tolerant_reads_total', { route: 'replica' }) ?? 0;
      const list = await gql(app.graphqlUrl, PROJECTS, {}, user.token);
      expect(list.data?.projects.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(['streamed']);
      expect(sample(await scrape(app.url), 'dawg_db_lag_tolerant_reads_total', { route: 'replica' })).toBe(before + 1);
    } finally {
      await standby.end();
      await app.stop();
    }
  });
});
