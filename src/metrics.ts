/**
 * Every metric the processes export, named dawg_<what>_<unit>. One registry per app instance.
 * Every label has a bounded set of values, so no client can grow the series count: routes are
 * templates (src/http/front.ts routeLabel), operation names go through `operationName`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { FAILURE_CODES, type FailureCode } from './failures.js';
import { withTimeout } from './timeout.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { fromRoot } from './paths.js';
import { heapTrimCounts } from './heap-trim.js';

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

/**
 * The memory this process may use: the container's limit (cgroup v2 memory.max, or v1's
 * limit_in_bytes) when there is one, else the machine's RAM. The memory alert divides
 * dawg_process_resident_memory_bytes by it.
 */
export function memoryLimitBytes(): number {
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const limit = Number(readFileSync(file, 'utf8').trim());
      // 'max' (NaN) or v1's "no limit" (a number near 2^63) mean none.
      if (Number.isFinite(limit) && limit > 0 && limit < totalmem() * 16) return Math.min(limit, totalmem());
    } catch {
      // No cgroup file: not in a container, or another layout.
    }
  }
  return totalmem();
}

/** The values prom-client gives the `kind` label of its GC histogram (lib/metrics/gc.js). */
const GC_KINDS = ['minor', 'major', 'incremental', 'weakcb'] as const;

/** A registry with Node's default metrics (dawg_process_*, dawg_nodejs_*) and the memory limit, for api and worker alike. */
function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dawg_' });
  // Every GC kind's series from the start: otherwise the series count grows the first time a kind
  // runs (a major or incremental collection may come hours in), which looks like a label leak.
  const gc = registry.getSingleMetric('dawg_nodejs_gc_duration_seconds') as Histogram<'kind'> | undefined;
  for (const kind of GC_KINDS) gc?.zero({ kind });
  new Gauge({
    name: 'dawg_memory_limit_bytes',
    help: "Memory this process may use: its container's limit, else the machine's RAM (for the memory alert)",
    registers: [registry],
  }).set(memoryLimitBytes());
  return registry;
}

/** A counter kept by the code that counts (`read` gives its total so far), read when Prometheus scrapes. */
function countedElsewhere(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** A database pool's connections now (node-postgres Pool's totalCount, idleCount, waitingCount). */
export interface PoolCounts {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** A read replica as the metrics see it (src/db/replicas.ts). */
export interface ReplicaCounts {
  name: string;
  state: 'ok' | 'unavailable' | 'lagging';
  lagMs: number;
}

/**
 * The api's registry. `pool` is read at scrape time for dawg_db_pool_connections, `replicas` for
 * dawg_db_replica_*; `subscriptionFields` (the schema's Subscription fields) start at zero in
 * dawg_ws_active_subscriptions.
 */
export function createMetrics(
  sources: { pool?: PoolCounts; replicas?: () => ReplicaCounts[]; subscriptionFields?: string[] } = {},
) {
  const registry = processRegistry();
  const { pool, replicas = () => [] } = sources;
  const wsActiveSubscriptions = new Gauge({
    name: 'dawg_ws_active_subscriptions',
    help: 'graphql-ws subscriptions set up and streaming now, by root field',
    labelNames: ['field'] as const,
    registers: [registry],
  });
  for (const field of sources.subscriptionFields ?? []) wsActiveSubscriptions.set({ field }, 0);
  // The api's heap trims (src/main.ts starts them), read at scrape time from src/heap-trim.ts.
  countedElsewhere(
    registry,
    'dawg_heap_trims_total',
    'Full collections run after a quiet spell to give back heap a burst left behind (HEAP_TRIM_IDLE_MS)',
    () => heapTrimCounts().trims,
  );
  countedElsewhere(
    registry,
    'dawg_heap_trim_freed_bytes_total',
    'Heap those trims gave back, in bytes of V8 heap',
    () => heapTrimCounts().freedBytes,
  );
  return {
    registry,
    operationName: boundedNames(),
    httpRequests: new Counter({
      name: 'dawg_http_requests_total',
      help: 'HTTP requests by route template (/graphql, /health, /ready, /metrics, /files/*, /graphiql/assets/*, /admin/*, other) and status',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'dawg_http_request_duration_seconds',
      help: 'HTTP request duration, from its arrival to the last byte of the answer, by route template and status class (2xx, 4xx...)',
      labelNames: ['route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    wsActiveSubscriptions,
    dbPool: new Gauge({
      name: 'dawg_db_pool_connections',
      help: 'Database pool: connections in use and idle, and queries waiting for a connection (state = in_use | idle | waiting)',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        if (!pool) return;
        this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    }),
    responseCache: new Counter({
      name: 'dawg_graphql_response_cache_total',
      help: 'Queries by what the response cache did: hit (answered from it), miss (executed and kept), pass (not cacheable: anonymous, fields it cannot watch, or the database notifications are down)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    subscriptionPlans: new Counter({
      name: 'dawg_graphql_subscription_plans_total',
      help: 'Subscription documents planned for their events (once per document), by plan: compiled (graphql-jit) or general (the compiler refused the document: graphql-js executes its events)',
      labelNames: ['plan'] as const,
      registers: [registry],
    }),
    lagTolerantReads: new Counter({
      name: 'dawg_db_lag_tolerant_reads_total',
      help: 'Reads that tolerate lag (lists, history, usage) with DATABASE_REPLICA_URL set, by route: replica, or the primary because the operation writes (writing), the viewer has a write no replica has replayed (own_write), no replica is usable (no_replica) or the replica failed (replica_failed)',
      labelNames: ['route'] as const,
      registers: [registry],
    }),
    replicaUp: new Gauge({
      name: 'dawg_db_replica_up',
      help: 'Read replica answers its checks (1) or not (0), by replica (its place in DATABASE_REPLICA_URL, from 1)',
      labelNames: ['replica'] as const,
      registers: [registry],
      collect() {
        for (const r of replicas()) this.set({ replica: r.name }, r.state === 'unavailable' ? 0 : 1);
      },
    }),
    replicaLag: new Gauge({
      name: 'dawg_db_replica_lag_seconds',
      help: 'How long ago the primary was where the read replica has replayed to, as of its last check (0: caught up), by replica',
      labelNames: ['replica'] as const,
      registers: [registry],
      collect() {
        for (const r of replicas()) this.set({ replica: r.name }, r.lagMs / 1000);
      },
    }),
    redisErrors: new Counter({
      name: 'dawg_redis_errors_total',
      help: "Redis connection errors (ioredis 'error' events: refused, reset, timed out), by connection",
      labelNames: ['connection'] as const,
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
    wsOpened: new Counter({
      name: 'dawg_ws_connections_opened_total',
      help: 'graphql-ws sockets opened (upgraded), before connection_init',
      registers: [registry],
    }),
    wsDisconnects: new Counter({
      name: 'dawg_ws_disconnects_total',
      help: 'graphql-ws sockets closed, by either side, by close code class (normal: 1000/1001, abnormal: 1006, refused: 44xx (our auth, protocol and limit refusals), other)',
      labelNames: ['reason'] as const,
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
    aiTokens: new Counter({
      name: 'dawg_ai_tokens_total',
      help: 'AI tokens billed (reported by the provider, else estimated), by provider, model (aiModelLabel) and direction (prompt | completion)',
      labelNames: ['provider', 'model', 'direction'] as const,
      registers: [registry],
    }),
    chatFrameSeconds: new Gauge({
      name: 'dawg_chat_frame_seconds',
      help: 'The reply frame length last used (a chatStream event at most this often): CHAT_FRAME_MS, stretched toward CHAT_FRAME_MAX_MS while the event loop is busy; updated as replies stream',
      registers: [registry],
    }),
    aiBudgetSkips: new Counter({
      name: 'dawg_ai_budget_skips_total',
      help: 'Messages answered by the local provider only because their user was past AI_USER_MONTHLY_BUDGET_USD',
      registers: [registry],
    }),
    aiCost: new Counter({
      name: 'dawg_ai_cost_usd_total',
      help: 'AI spend in USD (tokens x AI_PRICES), by provider and model (aiModelLabel)',
      labelNames: ['provider', 'model'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The `model` label of the AI metrics: the models AI_PRICES prices and the models the providers are
 * configured with (both from config, so a fixed set per process); any other name is 'other'.
 */
export const aiModelLabel = (known: Iterable<string>): ((model: string) => string) => boundedNames(0, [...known]);

/** The close-code class of a graphql-ws socket, for dawg_ws_disconnects_total. */
export function wsCloseReason(code: number): 'normal' | 'abnormal' | 'refused' | 'other' {
  if (code === 1000 || code === 1001) return 'normal';
  if (code === 1006) return 'abnormal';
  if (code >= 4400 && code < 4500) return 'refused';
  return 'other';
}

// --- The worker's metrics (worker/): jobs, stages, render speed, failures, the queue. ---

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
/** How long a scrape waits for the queue's counts; past it the gauge keeps no values for that scrape. */
export const QUEUE_COUNTS_TIMEOUT_MS = 1_000;

/**
 * The stages the handlers report (worker/handlers), by their first word: "loading track 3",
 * "rendering drums" and "stem bass" are loading, rendering and stem. Anything else is 'other'.
 */
const STAGES = new Set([
  'starting',
  'composing',
  'drums',
  'bass',
  'melody',
  'mixing',
  'mastering',
  'encoding',
  'uploading',
  'loading',
  'rendering',
  'stem',
]);
export const stageLabel = (stage: string): string => {
  const first = stage.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  return STAGES.has(first) ? first : 'other';
};
export const failureLabel = (code: string): FailureCode | 'other' =>
  (FAILURE_CODES as string[]).includes(code) ? (code as FailureCode) : 'other';

/** What the engine pool has given back so far (worker/engine-pool/pool.ts, `release`). */
export interface EngineReleases {
  readonly releases: number;
  readonly releasedBytes: number;
}

/**
 * The worker's registry. `queues` gives each queue's job counts by state (BullMQ getJobCounts),
 * read when Prometheus scrapes, and `engine` its engine pool's releases. Labels: type is the
 * generation type (BEAT, STEMS, MIX, MASTER), stage as stageLabel, code a FailureCode; all bounded.
 */
export function createWorkerMetrics(queues: Record<string, () => Promise<Record<string, number>>>, engine: EngineReleases) {
  const registry = processRegistry();
  countedElsewhere(
    registry,
    'dawg_engine_releases_total',
    "Times the engine pool gave back its tasks' memory: after the warm-up, and once no engine task ran for HEAP_TRIM_IDLE_MS",
    () => engine.releases,
  );
  countedElsewhere(
    registry,
    'dawg_engine_released_bytes_total',
    'Resident memory those releases took off the worker process, in bytes',
    () => engine.releasedBytes,
  );
  return {
    registry,
    queueJobs: new Gauge({
      name: 'dawg_queue_jobs',
      help: 'Jobs in a BullMQ queue by state (waiting | active | delayed | failed | completed), read at scrape time',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        await Promise.all(
          Object.entries(queues).map(async ([queue, counts]) => {
            const got = await withTimeout(counts(), QUEUE_COUNTS_TIMEOUT_MS).catch(() => null);
            if (got) for (const state of QUEUE_STATES) this.set({ queue, state }, got[state] ?? 0);
          }),
        );
      },
    }),
    jobDuration: new Histogram({
      name: 'dawg_job_duration_seconds',
      help: 'Generation job attempts, from start to end, by type and outcome (completed | failed | cancelled)',
      labelNames: ['type', 'outcome'] as const,
      buckets: [0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300],
      registers: [registry],
    }),
    stageDuration: new Histogram({
      name: 'dawg_job_stage_duration_seconds',
      help: 'Time spent in each stage a job reports, by type and stage',
      labelNames: ['type', 'stage'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    renderSpeed: new Histogram({
      name: 'dawg_job_render_speed_ratio',
      help: 'Audio seconds produced per wall-clock second of a completed job (x real time), by type',
      labelNames: ['type'] as const,
      buckets: [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers: [registry],
    }),
    jobFailures: new Counter({
      name: 'dawg_job_failures_total',
      help: 'Failed job attempts by type and failure code (src/failures.ts; WORKER_LOST for stalled or lost jobs)',
      labelNames: ['type', 'code'] as const,
      registers: [registry],
    }),
    jobsStalled: new Counter({
      name: 'dawg_jobs_stalled_total',
      help: 'Jobs BullMQ found stalled (their worker stopped renewing the lock) and moved back to waiting or failed',
      labelNames: ['queue'] as const,
      registers: [registry],
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
