/**
 * Every metric the processes export, named dawg_<what>_<unit>. One registry per app instance.
 * Every label has a bounded set of values, so no client can grow the series count: routes are
 * templates (src/http/front.ts routeLabel), operation names go through `operationName`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { fromRoot } from './paths.js';

/** Distinct operation names labelled as themselves; the rest are 'other'. */
export const MAX_OPERATION_NAMES = 100;

/** The committed client operations (scripts/demo, test/operations): their names are always known. */
function committedOperationNames(): string[] {
  const files = ['scripts/demo/operations.graphql'];
  try {
    for (const f of readdirSync(fromRoot('test', 'operations'))) if (f.endsWith('.graphql')) files.push(`test/operations/${f}`);
  } catch {
    // Not in this install (a production image without tests).
  }
  const names: string[] = [];
  for (const file of files) {
    let text = '';
    try {
      text = readFileSync(fromRoot(file), 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(/^\s*(?:query|mutation|subscription)\s+([A-Za-z_]\w*)/gm)) names.push(m[1] as string);
  }
  return names;
}

/**
 * The label for an operation name: the committed operations' names, then the first
 * MAX_OPERATION_NAMES distinct others seen, then 'other'. A name admitted stays (removing it would
 * lose its counts); the bound is what matters.
 */
export function boundedNames(max = MAX_OPERATION_NAMES, known: string[] = committedOperationNames()) {
  const names = new Set(known);
  const limit = names.size + max;
  return (name: string): string => {
    if (names.has(name)) return name;
    if (names.size >= limit || name.length > 64) return 'other';
    names.add(name);
    return name;
  };
}

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dawg_' });
  return {
    registry,
    operationName: boundedNames(),
    httpRequests: new Counter({
      name: 'dawg_http_requests_total',
      help: 'HTTP requests by route template (/graphql, /health, /ready, /metrics, /files/*, /graphiql/assets/*, other) and status',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    graphqlHttpRequests: new Counter({
      name: 'dawg_graphql_http_requests_total',
      help: 'GraphQL requests over HTTP by handler: lean (POSTed JSON query or mutation) or yoga (the rest)',
      labelNames: ['handler'] as const,
      registers: [registry],
    }),
    graphqlOperations: new Counter({
      name: 'dawg_graphql_operations_total',
      help: 'GraphQL operations by type, name and outcome (ok | error)',
      labelNames: ['type', 'name', 'outcome'] as const,
      registers: [registry],
    }),
    graphqlDuration: new Histogram({
      name: 'dawg_graphql_operation_duration_seconds',
      help: 'GraphQL query and mutation execution time',
      labelNames: ['type', 'name'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    graphqlErrors: new Counter({
      name: 'dawg_graphql_errors_total',
      help: 'GraphQL errors returned, by extensions.code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    wsConnections: new Gauge({
      name: 'dawg_ws_connections',
      help: 'Open graphql-ws sockets',
      registers: [registry],
    }),
    wsSubscriptions: new Counter({
      name: 'dawg_ws_subscriptions_total',
      help: 'GraphQL subscriptions started over graphql-ws',
      registers: [registry],
    }),
    wsSharedStreams: new Gauge({
      name: 'dawg_ws_shared_subscription_streams',
      help: 'Distinct subscriptions executed (identical subscriptions of one viewer share one)',
      registers: [registry],
    }),
    wsRefused: new Counter({
      name: 'dawg_ws_refused_connections_total',
      help: 'graphql-ws connections refused at connection_init (no or bad token)',
      registers: [registry],
    }),
    rateLimitDegraded: new Counter({
      name: 'dawg_rate_limit_degraded_total',
      help: 'Rate-limit checks made without Redis, by limiter (requests: allowed unchecked; login_*, signup_ip: counted in memory)',
      labelNames: ['limiter'] as const,
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'dawg_rate_limited_total',
      help: 'Requests refused with RATE_LIMITED, by limiter',
      labelNames: ['limiter'] as const,
      registers: [registry],
    }),
    aiAttempts: new Counter({
      name: 'dawg_ai_attempts_total',
      help: 'AI provider attempts by provider, kind (intent | reply) and outcome (ok | error | rate_limited | timeout | invalid_output | circuit_open)',
      labelNames: ['provider', 'kind', 'outcome'] as const,
      registers: [registry],
    }),
    aiAttemptDuration: new Histogram({
      name: 'dawg_ai_attempt_duration_seconds',
      help: 'AI provider attempt latency by provider, kind and outcome',
      labelNames: ['provider', 'kind', 'outcome'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
