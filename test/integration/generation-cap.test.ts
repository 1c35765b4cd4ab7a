/**
 * GENERATION_MAX_PENDING (issue 10 item 1): past the cap of PENDING + PROCESSING generations, every
 * path that queues one (generateBeat and the other mutations, aliases, concurrent requests, chat's
 * sendMessage, retryGeneration) is RATE_LIMITED and writes nothing. No worker runs here, so queued
 * generations stay PENDING.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/db/client.js';
import { insertWithinCap, PENDING_COUNT } from '../../src/modules/generations/pending-cap.js';
import { codes, gql, type RunningApp, signUp, startApp, type TestUser, until, rawId, testConfig } from '../helpers/harness.js';

const CAP = 3;
const GENERATE = 'mutation($input: GenerateBeatInput!) { generateBeat(input: $input) { id status } }';
const INPUT = { genre: 'lofi', bpm: 90, key: 'A minor', durationSec: 5 };
const SEND = `mutation($c: ID!, $text: String!) { sendMessage(conversationId: $c, content: $text) {
  assistantMessage { id } generation { id }
} }`;

let api: RunningApp;
beforeAll(async () => {
  // The operation limits refuse 50 aliased generateBeat before any runs (operation-limits.test.ts);
  // lifted here so the cap is what the aliased test meets.
  api = await startApp({ GENERATION_MAX_PENDING: String(CAP), GRAPHQL_MAX_ALIASES: '100', GRAPHQL_MAX_COST: '100000' });
});
afterAll(() => api.stop());

const rows = (user: TestUser) => api.app.prisma.generation.count({ where: { userId: rawId(user.id) } });
const generate = (user: TestUser) => gql(api.graphqlUrl, GENERATE, { input: INPUT }, user.token);

describe('GENERATION_MAX_PENDING', () => {
  it("returns the generation it writes as Prisma reads it, and over the cap writes nothing (the pool's SQL)", async () => {
    const frank = await signUp(api.graphqlUrl);
    const viewer = { id: rawId(frank.id), role: 'USER' as const };
    const sql = createPool(testConfig());
    try {
      const input = { genre: 'lofi', bpm: 90, key: 'A minor', durationSec: 5, seed: 7 };
      const created = await insertWithinCap(sql, viewer, { type: 'BEAT', input, projectId: null }, CAP);
      const read = await api.app.prisma.generation.findUniqueOrThrow({ where: { id: created.id } });
      expect(created).toEqual(read);
      expect(created).toMatchObject({ status: 'PENDING', type: 'BEAT', input, stage: 'queued', priority: expect.any(Number) });
      expect(created.cost.toString()).toBe('0');
      for (let i = 1; i < CAP; i++) await insertWithinCap(sql, viewer, { type: 'BEAT', input, projectId: null }, CAP);
      await expect(insertWithinCap(sql, viewer, { type: 'BEAT', input, projectId: null }, CAP)).rejects.toMatchObject({
        extensions: { code: 'RATE_LIMITED' },
        message: expect.stringContaining(`You already have ${CAP} generations`),
      });
      expect(await rows(frank)).toBe(CAP);
    } finally {
      await sql.end();
    }
  });

  it("counts only the user's own pending rows: both counts read the partial index", async () => {
    // The plans the count really runs, logged by auto_explain for this session only (LOAD and its
    // settings need a superuser, as the default test database's postgres is): retryGeneration's
    // PENDING_COUNT, and the count inside dawg_queue_generation. Table scans are priced out, so the
    // planner picks among the indexes whatever the shared test database holds: without
    // generations_user_id_pending_idx it walks every user's pending rows (generations_status_idx) or the
    // user's whole history (generations_user_id_created_at_idx).
    const gina = await signUp(api.graphqlUrl);
    const client = new pg.Client({ connectionString: testConfig().DATABASE_URL });
    const plans: string[] = [];
    client.on('notice', (n) => plans.push(n.message ?? ''));
    await client.connect();
    const countPlans = () => plans.filter((plan) => plan.includes('SELECT count(*)'));
    try {
      await client.query('BEGIN');
      await client.query("LOAD 'auto_explain'");
      for (const set of [
        'auto_explain.log_min_duration = 0',
        'auto_explain.log_nested_statements = on',
        'client_min_messages = log',
        'enable_seqscan = off',
      ])
        await client.query(`SET LOCAL ${set}`);
      await client.query(PENDING_COUNT, [rawId(gina.id)]);
      await client.query(
        `SELECT id FROM dawg_queue_generation(gen_random_uuid(), $1::uuid, NULL, 'BEAT', '{}'::jsonb, $2, 1, 1, 1000)`,
        [rawId(gina.id), CAP],
      );
      expect(countPlans(), plans.join('\n')).toHaveLength(2);
      for (const plan of countPlans()) expect(plan).toContain('generations_user_id_pending_idx');
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    }
    expect(await rows(gina)).toBe(0);
  });

  it('refuses the generation past the cap with RATE_LIMITED and writes nothing; other users are not affected', async () => {
    const [alice, bob] = await Promise.all([signUp(api.graphqlUrl), signUp(api.graphqlUrl)]);
    for (let i = 0; i < CAP; i++) expect((await generate(alice)).data?.generateBeat.status).toBe('PENDING');
    const refused = await generate(alice);
    expect(codes(refused)).toEqual(['RATE_LIMITED']);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ retryAfter: expect.any(Number) });
    expect(await rows(alice)).toBe(CAP);
    expect((await generate(bob)).data?.generateBeat.status).toBe('PENDING');
  });

  it('holds for aliases in one request and for concurrent requests', async () => {
    const [carol, dave] = await Promise.all([signUp(api.graphqlUrl), signUp(api.graphqlUrl)]);
    const fields = Array.from({ length: 50 }, (_, i) => `g${i}: generateBeat(input: $input) { id }`);
    const aliased = await gql(
      api.graphqlUrl,
      `mutation($input: GenerateBeatInput!) { ${fields.join(' ')} }`,
      { input: INPUT },
      carol.token,
    );
    expect(codes(aliased)).toContain('RATE_LIMITED');
    expect(await rows(carol)).toBe(CAP);

    const results = await Promise.all(Array.from({ length: 10 }, () => generate(dave)));
    expect(results.filter((r) => r.data?.generateBeat).length).toBe(CAP);
    expect(results.flatMap(codes).filter((c) => c === 'RATE_LIMITED').length).toBe(10 - CAP);
    expect(await rows(dave)).toBe(CAP);
  });

  it("applies to chat's sendMessage (no generation is written; the reply says why) and to retryGeneration", async () => {
    const erin = await signUp(api.graphqlUrl);
    const first = await generate(erin);
    const id = first.data?.generateBeat.id as string;
    const cancelled = await gql(
      api.graphqlUrl,
      'mutation($id: ID!) { cancelGeneration(id: $id) { status } }',
      { id },
      erin.token,
    );
    expect(cancelled.data?.cancelGeneration.status).toBe('CANCELLED');
    for (let i = 0; i < CAP; i++) expect((await generate(erin)).errors).toBeUndefined();

    const conversation = await gql(api.graphqlUrl, 'mutation { createConversation { id } }', {}, erin.token);
    const sent = await gql(
      api.graphqlUrl,
      SEND,
      { c: conversation.data.createConversation.id, text: 'make a chill lofi beat at 85 bpm' },
      erin.token,
    );
    expect(sent.errors).toBeUndefined();
    expect(sent.data?.sendMessage.generation).toBeNull();
    expect(await rows(erin)).toBe(CAP + 1);
    const replyId = rawId(sent.data?.sendMessage.assistantMessage.id);
    await until(async () => (await api.app.prisma.message.findUniqueOrThrow({ where: { id: replyId } })).status === 'COMPLETE');
    const reply = await api.app.prisma.message.findUniqueOrThrow({ where: { id: replyId } });
    expect(reply.content).toContain(`at most ${CAP}`);

    const retried = await gql(api.graphqlUrl, 'mutation($id: ID!) { retryGeneration(id: $id) { status } }', { id }, erin.token);
    expect(codes(retried)).toEqual(['RATE_LIMITED']);
    expect((await api.app.prisma.generation.findUniqueOrThrow({ where: { id: rawId(id) } })).status).toBe('CANCELLED');
  });
});
