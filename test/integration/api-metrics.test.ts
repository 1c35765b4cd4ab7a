/**
 * The api series the alerts and dashboards read beside the request metrics (issue 11):
 * HTTP request durations, WebSocket disconnects by close class, active subscriptions by field, the
 * database pool, Redis errors, AI tokens and spend, the memory limit.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import {
  freePort,
  gql,
  type RunningApp,
  signUp,
  startApp,
  type TestUser,
  testConfig,
  until,
  wsClient,
} from '../helpers/harness.js';
import { sample, scrape } from '../helpers/metrics.js';
import { startRedisServer } from '../helpers/process.js';

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
    const opened = async () => sample(await scrape(api.url), 'dawg_ws_connections_opened_total') ?? 0;
    const before = await opened();
    const [normal, refused] = [await disconnects('normal'), await disconnects('refused')];
    const good = wsClient(api.wsUrl, user.token);
    await new Promise((r) => setTimeout(r, 200));
    await good.client.dispose();
    expect(await good.closed).toBe(1000);
    const bad = wsClient(api.wsUrl, 'not-a-token');
    expect(await bad.closed).toBe(4403);
    await until(async () => (await disconnects('normal')) === normal + 1 && (await disconnects('refused')) === refused + 1);
    expect(await opened()).toBe(before + 2);
  });

  it('counts a socket dropped without a close frame as abnormal', async () => {
    const [abnormal, normal] = [await disconnects('abnormal'), await disconnects('normal')];
    const ws = new WebSocket(api.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${user.token}` } }));
    const ack = await new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    expect(JSON.parse(ack).type).toBe('connection_ack');
    ws.terminate(); // destroys the TCP socket: no close frame reaches the api
    await until(async () => (await disconnects('abnormal')) === abnormal + 1);
    expect(await disconnects('normal')).toBe(normal);
  });

  it('counts the tokens and the spend of AI replies by provider and model', async () => {
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
    const labels = { provider: 'local', model: 'local-templates' };
    const tokens = (direction: string) => sample(text, 'dawg_ai_tokens_total', { ...labels, direction });
    expect(tokens('prompt')).toBe(message?.promptTokens);
    expect(tokens('completion')).toBe(message?.completionTokens);
    expect(sample(text, 'dawg_ai_cost_usd_total', labels)).toBeCloseTo(message?.cost as number, 6);
    expect(message?.cost).toBeGreaterThan(0);
  });

  it('times HTTP requests by route template and status class', async () => {
    const count = async (route: string, status: string) =>
      sample(await scrape(api.url), 'dawg_http_request_duration_seconds_count', { route, status }) ?? 0;
    const [health, missing] = [await count('/health', '2xx'), await count('other', '4xx')];
    for (let i = 0; i < 3; i++) await fetch(`${api.url}/health`);
    await fetch(`${api.url}/no/such/${randomBytes(4).toString('hex')}`);
    await until(async () => (await count('/health', '2xx')) === health + 3 && (await count('other', '4xx')) === missing + 1);
    const text = await scrape(api.url);
    // A bucket of 10 s holds every request; the raw path made no series of its own.
    expect(sample(text, 'dawg_http_request_duration_seconds_bucket', { route: '/health', status: '2xx', le: '10' })).toBe(
      await count('/health', '2xx'),
    );
    expect(text).not.toContain('/no/such');
  });

  it('counts active subscriptions by field, from zero, until they end', async () => {
    const active = async () => sample(await scrape(api.url), 'dawg_ws_active_subscriptions', { field: 'generationProgress' });
    expect(await active()).toBe(0); // every Subscription field has its series from the start
    const c = (await gql(api.graphqlUrl, 'mutation { createConversation(title: "s") { id } }', {}, user.token)).data
      .createConversation.id;
    const ws = wsClient(api.wsUrl, user.token);
    const stop = ws.client.subscribe(
      { query: 'subscription($c: ID!) { messageAdded(conversationId: $c) { id } }', variables: { c } },
      { next: () => {}, error: () => {}, complete: () => {} },
    );
    const added = async () => sample(await scrape(api.url), 'dawg_ws_active_subscriptions', { field: 'messageAdded' });
    await until(async () => (await added()) === 1);
    stop();
    await until(async () => (await added()) === 0);
    await ws.client.dispose();
  });

  it('shows the database pool: connections in use while a query runs, and queries waiting', async () => {
    const pool = async (state: string) => sample(await scrape(api.url), 'dawg_db_pool_connections', { state });
    const size = testConfig().DATABASE_POOL_SIZE;
    // Two more sleeps than the pool has connections: all of them in use, two waiting.
    const slow = Array.from({ length: size + 2 }, () =>
      api.app.prisma.$queryRaw`select 1 as one from pg_sleep(1)`.then(() => {}),
    );
    await until(async () => (await pool('in_use')) === size && (await pool('waiting')) === 2);
    expect(await pool('idle')).toBe(0);
    await Promise.all(slow);
    await until(async () => (await pool('waiting')) === 0 && (await pool('in_use')) === 0);
  });

  it('counts Redis connection errors by connection (a redis-server of this test, killed)', async () => {
    const server = await startRedisServer(await freePort());
    const app = await startApp({ REDIS_URL: server.url, REDIS_PREFIX: 'errors:' });
    try {
      const errors = async () => sample(await scrape(app.url), 'dawg_redis_errors_total', { connection: 'dawg-api' }) ?? 0;
      expect(await errors()).toBe(0);
      await server.kill();
      await until(async () => (await errors()) > 0, 10_000);
    } finally {
      await server.kill();
      await app.stop();
    }
  });

  it('exports the memory limit beside the resident memory', async () => {
    const text = await scrape(api.url);
    expect(sample(text, 'dawg_memory_limit_bytes')).toBeGreaterThan(sample(text, 'dawg_process_resident_memory_bytes') as number);
  });
});
