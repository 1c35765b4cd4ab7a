/**
 * usage and budgets (issue 12, part 3): AI tokens and spend by provider, model and day (the intent
 * call included), generations by type, audio made; everyone's for an admin; and a monthly AI budget
 * past which the local provider answers, saying so.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BUDGET_NOTE } from '../../src/modules/chat/chat.service.js';
import { type FakeAi, startFakeAi } from '../../scripts/fake-ai/server.js';
import { gql, type RunningApp, signUp, startApp, type TestUser, until, rawId } from '../helpers/harness.js';
import { sample, scrape } from '../helpers/metrics.js';

let fake: FakeAi;
let api: RunningApp;
let alice: TestUser;
let bob: TestUser;

const USAGE = `query($from: DateTime, $to: DateTime, $all: Boolean) { usage(from: $from, to: $to, allUsers: $all) {
  allUsers aiCostUsd aiTokens audioSeconds storageBytes
  ai { day provider model promptTokens completionTokens costUsd }
  generations { type count completed failed audioSeconds }
  topUsers { user { email } costUsd generations }
  budget { monthlyUsd spentUsd remainingUsd }
} }`;

/** Sends `text` in a new conversation and waits for the reply to end; both messages as stored. */
async function converse(user: TestUser, text: string) {
  const c = (await gql(api.graphqlUrl, 'mutation { createConversation { id } }', {}, user.token)).data.createConversation.id;
  const sent = await gql(
    api.graphqlUrl,
    'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { userMessage { id } assistantMessage { id } } }',
    { c, t: text },
    user.token,
  );
  expect(sent.errors).toBeUndefined();
  const q =
    'query($c: ID!) { conversation(id: $c) { messages(first: 10) { edges { node { role status content provider cost promptTokens completionTokens } } } } }';
  let messages: { role: string; status: string; content: string; provider: string | null; cost: number }[] = [];
  await until(async () => {
    messages = (await gql(api.graphqlUrl, q, { c }, user.token)).data.conversation.messages.edges.map(
      (e: { node: unknown }) => e.node,
    );
    return messages.some((m) => m.role === 'ASSISTANT' && m.status !== 'STREAMING');
  }, 10_000);
  return { user: messages.find((m) => m.role === 'USER'), assistant: messages.find((m) => m.role === 'ASSISTANT') };
}

beforeAll(async () => {
  fake = await startFakeAi();
  api = await startApp({
    REDIS_PREFIX: `${inject('redisPrefix')}usage${randomBytes(3).toString('hex')}:`,
    ...fake.env,
    OPENAI_API_KEY: 'sk-test',
    OPENAI_MODEL: 'gpt-fake',
    AI_PROVIDERS: 'openai,local',
    // USD per million tokens: the fake reports 42 + 20 tokens for an intent and 42 + 17 for a reply.
    AI_PRICES: JSON.stringify({ 'gpt-fake': { input: 1000, output: 2000 } }),
    // One message (intent 0.082 + reply 0.076 USD) goes over it.
    AI_USER_MONTHLY_BUDGET_USD: '0.1',
    CHAT_CHUNK_DELAY_MS: '0',
  });
  [alice, bob] = (await Promise.all([signUp(api.graphqlUrl), signUp(api.graphqlUrl)])) as [TestUser, TestUser];
});
afterAll(async () => {
  // The beat a message started stays PENDING here (no worker): leave it to no other file's reconciler.
  await api?.app.prisma.generation.updateMany({
    where: { userId: { in: [alice, bob].filter(Boolean).map((u) => rawId(u.id)) }, status: { in: ['PENDING', 'PROCESSING'] } },
    data: { status: 'CANCELLED' },
  });
  await api?.stop();
  await fake?.close();
});

describe('usage', () => {
  it("sums the viewer's AI spend by provider, model and day, the intent call included, and their generations", async () => {
    const { user, assistant } = await converse(alice, 'something for a rainy night drive');
    expect(assistant?.provider).toBe('openai');
    const spent = (user?.cost ?? 0) + (assistant?.cost ?? 0);
    expect(user?.cost).toBeGreaterThan(0); // the intent call
    await api.app.prisma.generation.createMany({
      data: [
        { userId: rawId(alice.id), type: 'BEAT', status: 'COMPLETED', input: {}, output: { durationSec: 30 } },
        { userId: rawId(alice.id), type: 'BEAT', status: 'FAILED', input: {} },
        { userId: rawId(alice.id), type: 'STEMS', status: 'COMPLETED', input: {}, output: { durationSec: 30 } },
      ],
    });
    const res = await gql(api.graphqlUrl, USAGE, {}, alice.token);
    expect(res.errors).toBeUndefined();
    const u = res.data.usage;
    const today = new Date().toISOString().slice(0, 10);
    expect(u.ai).toEqual([
      {
        day: today,
        provider: 'openai',
        model: 'gpt-fake',
        promptTokens: 84,
        completionTokens: 37,
        costUsd: expect.closeTo(spent, 8),
      },
    ]);
    expect(u.aiCostUsd).toBeCloseTo(spent, 8);
    expect(u.aiTokens).toBe(121);
    expect(u.generations).toEqual([
      { type: 'BEAT', count: 2, completed: 1, failed: 1, audioSeconds: 30 },
      { type: 'STEMS', count: 1, completed: 1, failed: 0, audioSeconds: 30 },
    ]);
    expect(u).toMatchObject({ allUsers: false, audioSeconds: 60, storageBytes: 0, topUsers: null });
    // Bob's usage holds none of it.
    const theirs = (await gql(api.graphqlUrl, USAGE, {}, bob.token)).data.usage;
    expect(theirs).toMatchObject({ ai: [], generations: [], aiCostUsd: 0 });
    // A period before any of it is empty; a reversed one is refused.
    const past = (await gql(api.graphqlUrl, USAGE, { from: '2020-01-01T00:00:00Z', to: '2020-02-01T00:00:00Z' }, alice.token))
      .data.usage;
    expect(past).toMatchObject({ ai: [], generations: [] });
    const reversed = await gql(api.graphqlUrl, USAGE, { from: '2020-02-01T00:00:00Z', to: '2020-01-01T00:00:00Z' }, alice.token);
    expect(reversed.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'from' });
  });

  it('is everyone for an admin, with the top users; FORBIDDEN for anyone else', async () => {
    expect((await gql(api.graphqlUrl, USAGE, { all: true }, bob.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const admin = await signUp(api.graphqlUrl);
    await api.app.prisma.user.update({ where: { id: rawId(admin.id) }, data: { role: 'ADMIN' } });
    const relogged = await gql(
      api.graphqlUrl,
      'mutation($e: String!, $p: String!) { logIn(email: $e, password: $p) { token } }',
      { e: admin.email, p: 'correct horse battery' },
    );
    const res = await gql(api.graphqlUrl, USAGE, { all: true }, relogged.data.logIn.token);
    expect(res.errors).toBeUndefined();
    expect(res.data.usage.allUsers).toBe(true);
    expect(res.data.usage.topUsers.map((t: { user: { email: string } }) => t.user.email)).toContain(alice.email);
    const mine = (await gql(api.graphqlUrl, USAGE, {}, alice.token)).data.usage;
    expect(res.data.usage.aiCostUsd).toBeGreaterThanOrEqual(mine.aiCostUsd);
  });
});

describe('the monthly AI budget', () => {
  it('past it, the local provider answers and says so; no remote call is made; a metric counts it', async () => {
    const budget = (await gql(api.graphqlUrl, USAGE, {}, alice.token)).data.usage.budget;
    expect(budget.monthlyUsd).toBe(0.1);
    expect(budget.remainingUsd).toBe(0); // alice's first message went over it
    const skips = async () => sample(await scrape(api.url), 'dawg_ai_budget_skips_total') ?? 0;
    const before = await skips();
    const calls = fake.requests.length;
    const { user, assistant } = await converse(alice, 'make me a 90 bpm lofi beat in A minor');
    expect(assistant?.provider).toBe('local');
    expect(assistant?.content.startsWith(BUDGET_NOTE)).toBe(true);
    expect(user?.cost).toBe(0);
    expect(fake.requests.length).toBe(calls);
    expect(await skips()).toBe(before + 1);
    // Bob, within his budget, still gets the remote provider.
    expect((await converse(bob, 'hello there')).assistant?.provider).toBe('openai');
  });
});
