import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, gql, type RunningApp, signUp, startApp, until, wsClient } from '../helpers/harness.js';
import { spawnApi } from '../helpers/process.js';

let api: RunningApp;
beforeAll(async () => {
  api = await startApp();
});
afterAll(() => api.stop());

describe('health, readiness, metrics', () => {
  it('answers /health and /ready when PostgreSQL and Redis are reachable', async () => {
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
    const ready = await fetch(`${api.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ database: 'ok', redis: 'ok' });
  });

  it('is not ready while Redis is unreachable, and says why', async () => {
    const broken = await startApp({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const res = await fetch(`${broken.url}/ready`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { database: string; redis: string };
      expect(body.database).toBe('ok');
      expect(body.redis).not.toBe('ok');
      expect((await fetch(`${broken.url}/health`)).status).toBe(200);
    } finally {
      await broken.stop();
    }
  });

  it('exports Prometheus metrics named dawg_*', async () => {
    await gql(api.graphqlUrl, 'query Probe { me { id } }');
    const text = await (await fetch(`${api.url}/metrics`)).text();
    expect(text).toMatch(/dawg_graphql_operations_total\{type="query",name="Probe",outcome="ok"\} 1/);
    expect(text).toMatch(/dawg_http_requests_total\{route="\/graphql",status="200"\}/);
    expect(text).toContain('dawg_ws_connections');
  });

  it('refuses an oversized body with 413 and keeps serving', async () => {
    const res = await fetch(api.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { id } }', variables: { pad: 'x'.repeat(2 * 1024 * 1024) } }),
    });
    expect(res.status).toBe(413);
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
  });

  it('gives malformed requests a code and leaks no internals', async () => {
    const badJson = await fetch(api.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    const body = (await badJson.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
    const syntax = await gql(api.graphqlUrl, '{ me { id ');
    expect(syntax.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    const unknown = await gql(api.graphqlUrl, '{ nope }');
    expect(unknown.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const missingArg = await gql(api.graphqlUrl, 'query($id: ID!) { conversation(id: $id) { id } }', {});
    expect(missingArg.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('serves GraphiQL to a browser on GET /graphql, with its assets from this server', async () => {
    const res = await fetch(api.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).not.toContain('unpkg.com');
    const scripts = [...html.matchAll(/\/graphiql\/assets\/[\w./-]+\.(?:js|css)/g)].map((m) => m[0]);
    expect(scripts).toContain('/graphiql/assets/yoga-graphiql.umd.js');
    for (const path of new Set(scripts)) expect((await fetch(`${api.url}${path}`)).status, path).toBe(200);
    expect((await fetch(`${api.url}/graphiql/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${api.url}/graphiql/assets/../VERSION`)).status).toBe(404);
  });
});

describe('rate limits', () => {
  it('refuses a user past RATE_LIMIT_PER_MINUTE with RATE_LIMITED, leaving others alone', async () => {
    const limited = await startApp({ RATE_LIMIT_PER_MINUTE: '3', REDIS_PREFIX: `dawg-test-rl-${Date.now()}:` });
    try {
      // signUp itself counts against the caller's IP, so each user is made from a fresh window.
      const [ann, ben] = await Promise.all([signUp(limited.graphqlUrl), signUp(limited.graphqlUrl)]);
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await gql(limited.graphqlUrl, '{ me { id } }', {}, ann.token));
      expect(results.slice(0, 3).every((r) => r.data?.me?.id === ann.id)).toBe(true);
      const refused = results[3]?.errors?.[0]?.extensions as { code?: string; retryAfter?: number } | undefined;
      expect(refused?.code).toBe('RATE_LIMITED');
      expect(refused?.retryAfter).toBeGreaterThan(0);
      const other = await gql(limited.graphqlUrl, '{ me { id } }', {}, ben.token);
      expect(other.data.me.id).toBe(ben.id);
    } finally {
      await limited.stop();
    }
  });
});

describe('SIGTERM', () => {
  it('closes sockets with 1001, stops, and exits 0', async () => {
    const proc = await spawnApi();
    const user = await signUp(proc.graphqlUrl);
    const { client, closed } = wsClient(proc.wsUrl, user.token);
    const conversation = await gql(proc.graphqlUrl, 'mutation { createConversation { id } }', {}, user.token);
    collect(client, 'subscription($c: ID!) { messageAdded(conversationId: $c) { id } }', {
      c: conversation.data.createConversation.id,
    });
    await until(async () => /dawg_ws_connections 1/.test(await (await fetch(`${proc.url}/metrics`)).text()));
    const code = await proc.kill('SIGTERM');
    expect(code, proc.output().slice(-3000)).toBe(0);
    expect(await closed).toBe(1001);
    expect(proc.output()).toContain('dawg api stopped');
  });
});

describe('configuration', () => {
  it('exits 1 listing every bad variable at once', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH ?? '', PORT: 'eighty', DATABASE_URL: 'mysql://x', NODE_ENV: 'production' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT');
    expect(result.stderr).toContain('DATABASE_URL: must be a postgresql:// URL');
    expect(result.stderr).toContain('JWT_SECRET: is required when NODE_ENV=production');
  });
});
