/**
 * The api series the alerts and dashboards read beside the request metrics (issue 11):
 * WebSocket disconnects by close class, AI tokens and spend, the memory limit.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { gql, type RunningApp, signUp, startApp, type TestUser, until, wsClient } from '../helpers/harness.js';
import { sample, scrape } from '../helpers/metrics.js';

let api: RunningApp;
let user: TestUser;
beforeAll(async () => {
  api = await startApp({
    REDIS_PREFIX: `${inject('redisPrefix')}apimetrics${randomBytes(3).toString('hex')}:`,
    // The local provider's model, priced so that its replies cost something: 1 USD per token each way.
    AI_PRICES: '{"local-templates":{"input":1000000,"output":1000000}}',
    CHAT_CHUNK_DELAY_MS: '0',
  });
  user = await signUp(api.graphqlUrl);
});
afterAll(() => api.stop());

const disconnects = async (reason: string) => sample(await scrape(api.url), 'dawg_ws_disconnects_total', { reason }) ?? 0;

describe('api metrics', () => {
  it('counts WebSocket disconnects by close class', async () => {
    const [normal, refused] = [await disconnects('normal'), await disconnects('refused')];
    const good = wsClient(api.wsUrl, user.token);
    await new Promise((r) => setTimeout(r, 200));
    await good.client.dispose();
    expect(await good.closed).toBe(1000);
    const bad = wsClient(api.wsUrl, 'not-a-token');
    expect(await bad.closed).toBe(4403);
    await until(async () => (await disconnects('normal')) === normal + 1 && (await disconnects('refused')) === refused + 1);
  });

  it('counts the tokens and the spend of AI replies by provider', async () => {
    const c = (await gql(api.graphqlUrl, 'mutation { createConversation(title: "m") { id } }', {}, user.token)).data
      .createConversation.id;
    const res = await gql(
      api.graphqlUrl,
      'mutation($c: ID!) { sendMessage(conversationId: $c, content: "hello there") { assistantMessage { id } } }',
      { c },
      user.token,
    );
    expect(res.errors).toBeUndefined();
    const id = res.data.sendMessage.assistantMessage.id;
    const MESSAGE =
      'query($c: ID!) { conversation(id: $c) { messages(first: 10) { edges { node { id status cost promptTokens completionTokens } } } } }';
    let message: { status: string; cost: number; promptTokens: number; completionTokens: number } | undefined;
    await until(async () => {
      const r = await gql(api.graphqlUrl, MESSAGE, { c }, user.token);
      message = r.data?.conversation?.messages.edges
        .map((e: { node: unknown }) => e.node)
        .find((m: { id: string }) => m.id === id);
      return message?.status === 'COMPLETE';
    }, 15_000);
    const text = await scrape(api.url);
    const tokens = (direction: string) => sample(text, 'dawg_ai_tokens_total', { provider: 'local', direction });
    expect(tokens('prompt')).toBe(message?.promptTokens);
    expect(tokens('completion')).toBe(message?.completionTokens);
    expect(sample(text, 'dawg_ai_cost_usd_total', { provider: 'local' })).toBeCloseTo(message?.cost as number, 6);
    expect(message?.cost).toBeGreaterThan(0);
  });

  it('exports the memory limit beside the resident memory', async () => {
    const text = await scrape(api.url);
    expect(sample(text, 'dawg_memory_limit_bytes')).toBeGreaterThan(sample(text, 'dawg_process_resident_memory_bytes') as number);
  });
});
