/** Builds apps and clients against the per-run database and Redis prefix. */
import { randomBytes, randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import { inject } from 'vitest';
import type { Cluster } from 'ioredis';
import WebSocket from 'ws';
import { type App, buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { EventName } from '../../src/pubsub.js';

/**
 * Signing secrets for this test file's apps, workers and child processes (there is no built-in
 * default any more: src/secrets.ts). Tests of the secrets file unset them with ''.
 */
export const TEST_SECRETS = {
  JWT_SECRET: randomBytes(32).toString('base64url'),
  FILES_SIGNING_SECRET: randomBytes(32).toString('base64url'),
};

/**
 * The Redis topology the tests run on: a single server (REDIS_URL) unless .ci/run sets
 * TEST_REDIS_MODE=cluster|sentinel with TEST_REDIS_CLUSTER_NODES or TEST_REDIS_SENTINELS (and
 * TEST_REDIS_SENTINEL_MASTER) to run the Redis-role test files against that topology.
 */
function redisTopology(): Record<string, string> {
  const mode = process.env.TEST_REDIS_MODE;
  if (mode === 'cluster') return { REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: process.env.TEST_REDIS_CLUSTER_NODES ?? '' };
  if (mode === 'sentinel')
    return {
      REDIS_MODE: 'sentinel',
      REDIS_SENTINELS: process.env.TEST_REDIS_SENTINELS ?? '',
      REDIS_SENTINEL_MASTER: process.env.TEST_REDIS_SENTINEL_MASTER ?? 'mymaster',
    };
  return {};
}

export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    // Several workers run at once in the tests: each on a free port.
    WORKER_PORT: '0',
    // One engine thread each: a test's worker shares the two cores with its api, the databases and
    // the test runner, and a render on every core starved the api under test/load's time budgets.
    // test/unit/engine-pool.test.ts runs two threads.
    WORKER_THREADS: '1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    MIGRATE_ON_START: 'false',
    DATABASE_URL: inject('databaseUrl'),
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: inject('redisPrefix'),
    WS_KEEPALIVE_MS: '2000',
    // Every test signs up from 127.0.0.1; the limit itself is tested with its own low value.
    RATE_LIMIT_PER_MINUTE: '100000',
    GRAPHQL_COST_PER_MINUTE: '1000000000',
    LOGIN_ATTEMPTS_PER_ACCOUNT: '100000',
    LOGIN_ATTEMPTS_PER_IP: '100000',
    SIGNUPS_PER_IP_PER_HOUR: '100000',
    ...redisTopology(),
    ...TEST_SECRETS,
    ...overrides,
  };
}

/** A config from the test environment only (the ambient env is ignored). */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig(testEnv(overrides));
}

export interface RunningApp {
  app: App;
  url: string;
  graphqlUrl: string;
  wsUrl: string;
  stop(): Promise<void>;
}

export async function startApp(
  overrides: Record<string, string> = {},
  options: { logQueries?: boolean } = {},
): Promise<RunningApp> {
  const app = buildApp(testConfig(overrides), options);
  const url = await app.start();
  return { app, url, graphqlUrl: `${url}/graphql`, wsUrl: `${url.replace(/^http/, 'ws')}/graphql`, stop: () => app.stop() };
}

export interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: string[]; extensions?: { code?: string; field?: string } }[];
}

// biome-ignore lint/suspicious/noExplicitAny: test responses are read field by field
export async function gql<T = any>(
  graphqlUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
  headers: Record<string, string> = {},
): Promise<GqlResponse<T>> {
  const res = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as GqlResponse<T>;
  return { ...body, status: res.status };
}

export function codes(res: GqlResponse): (string | undefined)[] {
  return (res.errors ?? []).map((e) => e.extensions?.code);
}

/** The uuid inside a Relay global id (base64 "Type:uuid"), for reading rows directly. */
export const rawId = (globalId: string): string => Buffer.from(globalId, 'base64').toString().split(':')[1] as string;

export interface TestUser {
  id: string;
  email: string;
  token: string;
}

export async function signUp(graphqlUrl: string, password = 'correct horse battery'): Promise<TestUser> {
  const email = `user-${randomUUID()}@example.test`;
  const res = await gql(
    graphqlUrl,
    'mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { token user { id email } } }',
    { e: email, p: password },
  );
  if (!res.data?.signUp) throw new Error(`signUp failed: ${JSON.stringify(res.errors)}`);
  return { id: res.data.signUp.user.id, email, token: res.data.signUp.token };
}

/** A graphql-ws client; `closed` resolves with the close code when the socket closes. */
export function wsClient(wsUrl: string, token?: string | null) {
  let resolveClosed: (code: number) => void = () => {};
  const closed = new Promise<number>((resolve) => {
    resolveClosed = resolve;
  });
  const client: Client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: token === undefined ? {} : { authorization: token === null ? null : `Bearer ${token}` },
    on: { closed: (event) => resolveClosed((event as { code: number }).code) },
    onNonLazyError: () => {},
  });
  return { client, closed };
}

/** Subscribes and collects events; `next()` waits for the n-th one (default: the next). */
export function collect<T = Record<string, unknown>>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const events: T[] = [];
  const errors: unknown[] = [];
  const waiters: { n: number; resolve: (v: T) => void; reject: (e: unknown) => void }[] = [];
  let completed = false;
  const flush = () => {
    for (const w of [...waiters]) {
      if (events.length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(events[w.n - 1] as T);
      } else if (errors.length || completed) {
        waiters.splice(waiters.indexOf(w), 1);
        w.reject(errors[0] ?? new Error('subscription completed'));
      }
    }
  };
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        if (value.errors?.length) errors.push(value.errors);
        else if (value.data) events.push(value.data as T);
        flush();
      },
      error: (err) => {
        errors.push(err);
        flush();
      },
      complete: () => {
        completed = true;
        flush();
      },
    },
  );
  return {
    events,
    errors,
    dispose,
    /** Whether the server completed the subscription. */
    completed: () => completed,
    nth(n: number, timeoutMs = 5_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no event #${n} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          n,
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        flush();
      });
    },
    /** Resolves with the first error the subscription gets. */
    failure(timeoutMs = 5_000): Promise<unknown> {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const poll = setInterval(() => {
          if (errors.length) {
            clearInterval(poll);
            resolve(errors[0]);
          } else if (Date.now() - started > timeoutMs) {
            clearInterval(poll);
            reject(new Error('no subscription error'));
          }
        }, 10);
      });
    },
  };
}

/**
 * Waits until `check` holds, for at most `timeoutMs`. `explain`, when given, says what was seen instead:
 * its answer goes into the error, so a failure that does not reproduce still shows its state.
 */
export const until = async (
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  explain?: () => unknown | Promise<unknown>,
) => {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) {
      const seen = explain ? `: ${JSON.stringify(await explain())}` : '';
      throw new Error(`condition not met in time${seen}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** Waits until `count` connections are subscribed to the Redis channel of an event (no fixed sleeps). */
export async function subscribed(app: App, event: EventName, key: string, count = 1): Promise<void> {
  const channel = app.services.pubsub.channel(event, key);
  let refreshed = 0;
  await until(async () => {
    // A Redis Cluster counts a channel's subscribers on the node each subscriber is connected to. This
    // connection learns of nodes only when it asks for the slots (after an error; the api's subscriber
    // asks every second), so it asks (each 500 ms): a subscriber in another process may sit on a
    // replica that joined since.
    const cluster = app.redis.isCluster ? (app.redis as Cluster) : null;
    if (cluster && Date.now() - refreshed >= 500) {
      refreshed = Date.now();
      await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
    }
    const nodes = cluster ? cluster.nodes('all') : [app.redis];
    const counts = await Promise.all(nodes.map((node) => node.pubsub('NUMSUB', channel) as Promise<[string, number]>));
    return counts.reduce((sum, [, n]) => sum + Number(n), 0) >= count;
  });
}

/**
 * For a subscriber in another process: Redis counts a subscription (what `subscribed` waits for)
 * before that process has registered it. graphql-redis-subscriptions adds its listener in the
 * SUBSCRIBE reply's callback, so a message read in the same chunk as that reply is dropped; a busy
 * runner makes that likely. This publishes `probe` until the subscriber has received an event, so
 * later events are published to a subscription that is ready. Tests then find their event by content.
 */
export async function primed(sub: { events: unknown[] }, probe: () => Promise<unknown>, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!sub.events.length) {
    if (Date.now() - started > timeoutMs) throw new Error(`no probe event within ${timeoutMs} ms`);
    await probe();
    await until(() => sub.events.length > 0, 300).catch(() => {});
  }
}

/** A free TCP port on 127.0.0.1 (for apps whose PUBLIC_URL must be known before they start). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Stores a user's message in `conversationId` (a global id) and publishes it, as the chat service does. */
export async function storeAndPublishMessage(api: RunningApp, conversationId: string, content: string) {
  const message = await api.app.prisma.message.create({ data: { conversationId: rawId(conversationId), role: 'USER', content } });
  await api.app.services.pubsub.publish('messageAdded', message.conversationId, {
    conversationId: message.conversationId,
    message,
  });
  return message;
}
