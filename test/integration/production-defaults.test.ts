/**
 * Defaults that are safe in production (issue 10, item 9): GraphiQL off unless asked for, CORS '*'
 * never with credentials, /metrics behind a token, on its own port, or closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { freePort, type RunningApp, startApp } from '../helpers/harness.js';

const SECRETS = {
  JWT_SECRET: 'production-test-secret-0123456789abcdef',
  FILES_SIGNING_SECRET: 'production-test-files-secret-0123456789',
};
const TOKEN = 'metrics-token-0123456789';

describe('production defaults in the config', () => {
  it('turns GraphiQL off in production unless GRAPHIQL=true', () => {
    expect(loadConfig({ NODE_ENV: 'production', ...SECRETS }).GRAPHIQL).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', GRAPHIQL: 'true', ...SECRETS }).GRAPHIQL).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', ...SECRETS }).GRAPHIQL).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', GRAPHIQL: 'false', ...SECRETS }).GRAPHIQL).toBe(false);
  });

  it("never pairs CORS '*' with credentials, and refuses to start when asked to", () => {
    expect(loadConfig({ ...SECRETS }).CORS_CREDENTIALS).toBe(false);
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example', ...SECRETS }).CORS_CREDENTIALS).toBe(true);
    for (const NODE_ENV of ['production', 'development']) {
      expect(() => loadConfig({ NODE_ENV, ...SECRETS, CORS_CREDENTIALS: 'true' })).toThrow(
        /CORS_CREDENTIALS: cannot be true with CORS_ORIGINS='\*'/,
      );
    }
  });
});

describe('production defaults in the app', () => {
  let production: RunningApp;
  let withToken: RunningApp;
  let ownPort: RunningApp;
  let metricsPort: number;
  beforeAll(async () => {
    production = await startApp({ NODE_ENV: 'production', ...SECRETS });
    withToken = await startApp({ NODE_ENV: 'production', ...SECRETS, METRICS_TOKEN: TOKEN });
    metricsPort = await freePort();
    ownPort = await startApp({ NODE_ENV: 'production', ...SECRETS, METRICS_PORT: String(metricsPort) });
  });
  afterAll(async () => {
    await production.stop();
    await withToken.stop();
    await ownPort.stop();
  });

  it('serves no GraphiQL page', async () => {
    const res = await fetch(production.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(await res.text()).not.toMatch(/graphiql/i);
  });

  it('allows no credentials under CORS *', async () => {
    const res = await fetch(production.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    // whatwg-node answers '*' by echoing the origin; without Allow-Credentials that is what '*' means.
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('keeps /metrics closed without METRICS_TOKEN or METRICS_PORT', async () => {
    expect((await fetch(`${production.url}/metrics`)).status).toBe(404);
  });

  it('serves /metrics only with the bearer token when METRICS_TOKEN is set', async () => {
    expect((await fetch(`${withToken.url}/metrics`)).status).toBe(401);
    expect(
      (await fetch(`${withToken.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status,
    ).toBe(401);
    const res = await fetch(`${withToken.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('dawg_http_requests_total');
  });

  it('serves /metrics on METRICS_PORT only', async () => {
    expect((await fetch(`${ownPort.url}/metrics`)).status).toBe(404);
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('dawg_http_requests_total');
  });
});
