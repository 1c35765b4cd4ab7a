/**
 * Metrics labels are bounded (issue 10, item 12): 40,000 requests with random operation names and
 * random paths leave the number of series flat once the name cap is reached. Before, the same
 * traffic grew /metrics from 119 to 248,738 series.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { MAX_OPERATION_NAMES } from '../../src/metrics.js';
import { type RunningApp, startApp } from '../helpers/harness.js';

let api: RunningApp;
const agent = new Agent({ keepAlive: true, maxSockets: 32 });
beforeAll(async () => {
  api = await startApp({ REDIS_PREFIX: `${inject('redisPrefix')}labels${randomBytes(3).toString('hex')}:` });
});
afterAll(async () => {
  agent.destroy();
  await api.stop();
});

function send(method: 'GET' | 'POST', path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${api.url}${path}`,
      { method, agent, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const name = () => `Op_${randomBytes(6).toString('hex')}`;
/** One request with a random path or a random operation name (a quarter: they cost the most). */
function hostile(i: number): Promise<number> {
  switch (i % 8) {
    case 0:
    case 1:
    case 2:
      return send('GET', `/${randomBytes(8).toString('hex')}/${randomBytes(4).toString('hex')}?x=${i}`);
    case 3:
    case 4:
      return send('POST', `/${randomBytes(8).toString('hex')}`, '{}');
    case 5:
      return send('GET', `/files/${randomBytes(8).toString('hex')}`);
    case 6:
      return send('POST', '/graphql', JSON.stringify({ query: `query ${name()} { __typename }` }));
    default:
      // An operationName the document does not define.
      return send('POST', '/graphql', JSON.stringify({ query: `query ${name()} { __typename }`, operationName: name() }));
  }
}

async function burst(count: number, concurrency = 32): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await hostile(next++);
    }),
  );
}

/**
 * The series /metrics lists, but for prom-client's per-type counts of the process's live handles and
 * requests (`dawg_nodejs_active_handles{type="Socket"}` and the like): a type's series is there only
 * while a handle of that type is, so they come and go with the moment (a CI run read 1505 against 1506),
 * and no request's input names them.
 */
async function seriesCount(): Promise<number> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#') && !/^dawg_nodejs_active_(handles|requests|resources)\{type=/.test(line))
    .length;
}

describe('metrics labels', () => {
  it('keeps the series count flat over 40,000 requests with random names and paths', { timeout: 180_000 }, async () => {
    const start = await seriesCount();
    await burst(10_000);
    const filled = await seriesCount();
    await burst(30_000);
    const after = await seriesCount();
    expect(after).toBe(filled);
    // The cap: each admitted name has a counter per outcome and a histogram (~14 series).
    expect(after - start).toBeLessThan(MAX_OPERATION_NAMES * 16 + 50);
    const text = await (await fetch(`${api.url}/metrics`)).text();
    const routes = new Set([...text.matchAll(/dawg_http_requests_total\{route="([^"]*)"/g)].map((m) => m[1]));
    expect([...routes].sort()).toEqual(['/files/*', '/graphql', '/metrics', 'other']);
    expect(text).toMatch(/dawg_graphql_operations_total\{type="query",name="other",outcome="ok"\} \d+/);
  });
});
