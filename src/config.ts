/**
 * The one place that reads the environment. Every variable is listed in
 * .env.example (a test keeps the two in step). Bad or missing values are
 * reported all at once.
 */
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { MAX_FIELD_COST } from './graphql/costs.js';
import { compileTrust, type TrustProxy } from './http/client-ip.js';
import { PROVIDER_NAMES, type ProviderName } from './modules/chat/providers/types.js';
import { MIX_TRACKS_CEILING } from './modules/generations/generation.rules.js';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** A comma-separated list of host:port (Redis sentinels, cluster nodes); empty when unset. */
const hostPorts = (example: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (!v) return [];
      const parsed = v.split(',').map((node) => /^([^\s:]+):(\d{1,5})$/.exec(node.trim()));
      if (parsed.some((m) => !m || Number(m[2]) > 65535)) {
        ctx.addIssue({ code: 'custom', message: `must be host:port pairs, comma-separated (${example},…)` });
        return z.NEVER;
      }
      return parsed.map((m) => ({ host: (m as RegExpExecArray)[1] as string, port: Number((m as RegExpExecArray)[2]) }));
    });

/** USD per million input/output tokens; AI_PRICES (JSON) adds models or overrides these. */
const DEFAULT_PRICES = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'claude-haiku-4-5': { input: 1, output: 5 },
  'claude-sonnet-4-5': { input: 3, output: 15 },
  'gemini-2.0-flash': { input: 0.1, output: 0.4 },
  'gemini-2.5-flash': { input: 0.3, output: 2.5 },
  'local-templates': { input: 0, output: 0 },
};

export const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: z.coerce.number({ error: 'must be a port number' }).int().min(0).max(65535).default(4000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
      .default('postgresql://postgres@127.0.0.1:5432/dawg'),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),
    // Read replicas (src/db/replicas.ts): reads that tolerate lag (lists, history, usage) go to one of
    // these streaming standbys of DATABASE_URL's server; comma-separated, each a postgresql:// URL.
    DATABASE_REPLICA_URL: z
      .string()
      .optional()
      .transform((v, ctx) => {
        const urls = (v ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        if (urls.some((u) => !/^postgres(ql)?:\/\/./.test(u))) {
          ctx.addIssue({ code: 'custom', message: 'must be postgresql:// URLs, comma-separated' });
          return z.NEVER;
        }
        return urls;
      }),
    // A replica further behind the primary than this is not read from until it catches up.
    DATABASE_REPLICA_MAX_LAG_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
    MIGRATE_ON_START: bool.default(true),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .default('redis://127.0.0.1:6379'),
    // Which Redis: one server at REDIS_URL (single), the master that Redis Sentinel names (sentinel:
    // REDIS_SENTINELS, comma-separated host:port, and REDIS_SENTINEL_MASTER), or a Redis Cluster
    // (cluster: REDIS_CLUSTER_NODES, comma-separated host:port of some of its nodes). In sentinel and
    // cluster mode REDIS_URL still carries the password, if any (redis://:secret@…).
    REDIS_MODE: z.enum(['single', 'sentinel', 'cluster'], { error: 'must be single, sentinel or cluster' }).default('single'),
    REDIS_SENTINELS: hostPorts('127.0.0.1:26379'),
    REDIS_CLUSTER_NODES: hostPorts('127.0.0.1:7000'),
    REDIS_SENTINEL_MASTER: z.string().min(1).default('mymaster'),
    // How long what must not be lost (a chat reply's chunks) and a subscription being set up wait for
    // Redis to come back from a restart or a Sentinel/Cluster failover before they fail.
    REDIS_FAILOVER_WAIT_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
    REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9:_{}-]*$/, 'letters, digits, ":", "_", "-", "{" and "}" only')
      // A Redis Cluster hash tag: a "{" left open would take the key's own tag ({userId}) into it,
      // and one user's keys, read together, would fall on different slots (CROSSSLOT).
      .regex(/^[^{}]*(\{[^{}]+\}[^{}]*)*$/, 'each "{" must be closed by a "}" with something in between (a hash tag)')
      .default('dawg:'),
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    JWT_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .default(24 * 3600),
    RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(100),
    LOGIN_ATTEMPTS_PER_ACCOUNT: z.coerce.number().int().min(1).default(10),
    LOGIN_ATTEMPTS_PER_IP: z.coerce.number().int().min(1).default(50),
    LOGIN_WINDOW_SEC: z.coerce.number().int().min(1).default(900),
    SIGNUPS_PER_IP_PER_HOUR: z.coerce.number().int().min(1).default(10),
    GENERATION_MAX_PENDING: z.coerce.number().int().min(1).default(20),
    // How long a generation waits out an outage (storage, database) before it fails, from when it was queued.
    GENERATION_DEADLINE_MS: z.coerce.number().int().min(1000).default(600_000),
    // Uploads (src/modules/uploads): the largest file, each user's storage for them, the longest audio.
    UPLOAD_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(2 ** 31 - 1)
      .default(100 * 1024 * 1024),
    UPLOAD_QUOTA_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024 * 1024),
    UPLOAD_MAX_DURATION_SEC: z.coerce.number().int().min(1).max(3600).default(900),
    UPLOAD_URL_TTL_SEC: z.coerce
      .number()
      .int()
      .min(30)
      .max(7 * 24 * 3600)
      .default(900),
    // A PENDING upload older than this is deleted with its object by the worker's repeatable cleanup job.
    UPLOAD_PENDING_TTL_SEC: z.coerce
      .number()
      .int()
      .min(60)
      .default(24 * 3600),
    // How long completeUpload waits for the worker's analysis before answering with the upload still PENDING.
    UPLOAD_ANALYSIS_WAIT_MS: z.coerce.number().int().min(0).max(600_000).default(60_000),
    TRUST_PROXY: z
      .string()
      .default('false')
      .transform((v, ctx): TrustProxy => {
        const value = v.trim().toLowerCase();
        if (value === 'false' || value === '0') return false;
        if (value === 'true') {
          // Express's `true` trusts every hop, so a client picks its own address by sending X-Forwarded-For.
          ctx.addIssue({
            code: 'custom',
            message:
              "true is no longer accepted (it let clients choose their IP): give the number of proxies in front (e.g. 1) or their addresses ('loopback', '10.0.0.0/8')",
          });
          return z.NEVER;
        }
        if (/^\d+$/.test(value)) return Number(value);
        const list = v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        try {
          compileTrust(list);
        } catch (err) {
          ctx.addIssue({
            code: 'custom',
            message: `false, a hop count, or addresses/CIDRs/loopback/linklocal/uniquelocal (${(err as Error).message})`,
          });
          return z.NEVER;
        }
        return list;
      }),
    GRAPHQL_LEAN_POST: bool.default(true),
    // Subscription events executed by a compiled plan (src/graphql/compiled-subscriptions.ts); false:
    // yoga's own executor.
    GRAPHQL_COMPILED_SUBSCRIPTIONS: bool.default(true),
    // Operation limits (src/graphql/limits.ts); the committed operations, GraphiQL's introspection
    // and the demo clients stay well inside them.
    GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(1).max(100).default(10),
    GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).max(1000).default(15),
    // At most 10,000: parse and validation time grow with it. Nesting is bounded separately (200
    // brackets, src/graphql/limits.ts), before the recursive parser runs.
    GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(100).max(10_000).default(2000),
    GRAPHQL_MAX_DIRECTIVES: z.coerce.number().int().min(0).max(1000).default(50),
    GRAPHQL_MAX_COST: z.coerce.number().int().min(1).default(1000),
    GRAPHQL_COST_PER_MINUTE: z.coerce.number().int().min(1).default(30_000),
    GRAPHQL_COST_IN_FLIGHT: z.coerce.number().int().min(1).default(1000),
    // The response cache (src/graphql/response-cache.ts): entries per api process (0: off), their
    // total size, and how long one may live even if nothing it reads is written.
    GRAPHQL_RESPONSE_CACHE_ENTRIES: z.coerce.number().int().min(0).default(5000),
    GRAPHQL_RESPONSE_CACHE_MB: z.coerce.number().int().min(1).default(32),
    GRAPHQL_RESPONSE_CACHE_TTL_MS: z.coerce.number().int().min(1000).default(60_000),
    GRAPHQL_MAX_BODY_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024),
    // Unset: links are built from the request behind a trusted proxy, else from HOST/PORT (src/http/public-url.ts).
    PUBLIC_URL: z.url('must be a URL').optional(),
    STORAGE_DRIVER: z.enum(['local', 's3']).default('local'),
    STORAGE_DIR: z.string().min(1).default('./storage'),
    FILES_SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    SECRETS_FILE: z.string().min(1).optional(),
    S3_BUCKET: z.string().min(3).default('dawg-audio'),
    S3_REGION: z.string().min(1).default('us-east-1'),
    S3_ENDPOINT: z.url('must be a URL').optional(),
    S3_FORCE_PATH_STYLE: bool.default(false),
    S3_ACCESS_KEY_ID: z.string().optional(),
    S3_SECRET_ACCESS_KEY: z.string().optional(),
    CHAT_CHUNK_DELAY_MS: z.coerce.number().int().min(0).max(1000).default(15),
    CHAT_FRAME_MS: z.coerce.number().int().min(0).max(1000).default(30),
    /** Unset: 4 × CHAT_FRAME_MS (so 0 keeps every piece its own event, under load too). */
    CHAT_FRAME_MAX_MS: z.coerce.number().int().min(0).max(4000).optional(),
    CHAT_MAX_CONCURRENT_REPLIES: z.coerce.number().int().min(1).max(100).default(3),
    AI_PROVIDERS: z
      .string()
      .default('local')
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim().toLowerCase())
          .filter(Boolean),
      )
      .pipe(
        z
          .array(z.string())
          .min(1, 'must name at least one provider')
          .superRefine((names, ctx) => {
            const unknown = names.filter((n) => !(PROVIDER_NAMES as readonly string[]).includes(n));
            if (unknown.length)
              ctx.addIssue({
                code: 'custom',
                message: `unknown provider ${unknown.join(', ')} (use ${PROVIDER_NAMES.join(', ')})`,
              });
          })
          .transform((names) => names as ProviderName[]),
      ),
    OPENAI_API_KEY: z.string().optional(),
    OPENAI_BASE_URL: z.url('must be a URL').optional(),
    OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
    ANTHROPIC_API_KEY: z.string().optional(),
    ANTHROPIC_BASE_URL: z.url('must be a URL').optional(),
    ANTHROPIC_MODEL: z.string().min(1).default('claude-haiku-4-5'),
    GOOGLE_API_KEY: z.string().optional(),
    GOOGLE_BASE_URL: z.url('must be a URL').optional(),
    GOOGLE_MODEL: z.string().min(1).default('gemini-2.0-flash'),
    AI_FIRST_TOKEN_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
    AI_TOTAL_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
    AI_BREAKER_FAILURES: z.coerce.number().int().min(1).default(3),
    AI_BREAKER_COOLDOWN_MS: z.coerce.number().int().min(0).default(30_000),
    AI_PRICES: z
      .string()
      .optional()
      .transform((v, ctx) => {
        try {
          return { ...DEFAULT_PRICES, ...(v ? JSON.parse(v) : {}) } as Record<string, { input: number; output: number }>;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be JSON like {"model":{"input":0.15,"output":0.6}}' });
          return z.NEVER;
        }
      })
      .pipe(z.record(z.string(), z.object({ input: z.number().min(0), output: z.number().min(0) }))),
    // Jobs a worker process runs at once; the engine's threads (WORKER_THREADS, one per core by
    // default) render them, so a job waiting on I/O leaves its thread to another.
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    WORKER_THREADS: z.coerce
      .number()
      .int()
      .min(1)
      .max(64)
      .default(() => availableParallelism()),
    MIX_MAX_TRACKS: z.coerce.number().int().min(1).max(MIX_TRACKS_CEILING).default(16),
    WORKER_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
    // The worker's /health, /ready and /metrics (worker/endpoints.ts), on HOST; 0 = a free port.
    WORKER_PORT: z.coerce.number({ error: 'must be a port number' }).int().min(0).max(65535).default(9465),
    CORS_ORIGINS: z
      .string()
      .default('*')
      .transform((v) =>
        v === '*'
          ? '*'
          : v
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
      ),
    CORS_CREDENTIALS: bool.optional(),
    GRAPHIQL: bool.optional(),
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    METRICS_PORT: z.coerce.number({ error: 'must be a port number' }).int().min(0).max(65535).optional(),
    OTEL_EXPORTER_OTLP_ENDPOINT: z.url('must be a URL').optional(),
    AI_USER_MONTHLY_BUDGET_USD: z.coerce.number().positive('must be more than 0').optional(),
    WS_KEEPALIVE_MS: z.coerce.number().int().min(1000).max(120_000).default(15_000),
    WS_INIT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
    WS_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).max(10_000).default(100),
    WS_MAX_SOCKETS_PER_USER: z.coerce.number().int().min(1).max(10_000).default(20),
    WS_MAX_BUFFERED_BYTES: z.coerce
      .number()
      .int()
      .min(16 * 1024)
      .default(1024 * 1024),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
    // How long an idle keep-alive HTTP connection stays open: longer than the idle timeout of the
    // proxies in front (nginx's upstream keepalive and AWS ALB use 60 s), so the api never closes a
    // connection a proxy or client is about to reuse (Node's default, 5 s, reset such requests).
    HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1000).default(65_000),
    // After this long quiet, the api gives back heap a burst left behind (src/heap-trim.ts), and the
    // worker's engine pool the memory its jobs left (worker/engine-pool/pool.ts); 0: never (the pool
    // still does after its warm-up).
    HEAP_TRIM_IDLE_MS: z.coerce.number().int().min(0).max(2_147_483_647).default(10_000),
    HEAP_TRIM_MIN_GROWTH_MB: z.coerce.number().int().min(1).default(64),
    // Bull Board at /admin/queues for ADMIN users (src/http/admin); false: no /admin path at all.
    ADMIN_QUEUES: bool.default(true),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.REDIS_MODE === 'sentinel' && !cfg.REDIS_SENTINELS.length)
      ctx.addIssue({ code: 'custom', path: ['REDIS_SENTINELS'], message: 'is required when REDIS_MODE=sentinel' });
    if (cfg.REDIS_MODE === 'cluster' && !cfg.REDIS_CLUSTER_NODES.length)
      ctx.addIssue({ code: 'custom', path: ['REDIS_CLUSTER_NODES'], message: 'is required when REDIS_MODE=cluster' });
    if (cfg.CHAT_FRAME_MAX_MS !== undefined && cfg.CHAT_FRAME_MAX_MS < cfg.CHAT_FRAME_MS)
      ctx.addIssue({
        code: 'custom',
        path: ['CHAT_FRAME_MAX_MS'],
        message: `must be at least CHAT_FRAME_MS (${cfg.CHAT_FRAME_MS}); set it equal to keep frames that long under load too`,
      });
  })
  .transform((cfg) => ({
    ...cfg,
    // GraphiQL is a development tool: off in production unless asked for.
    GRAPHIQL: cfg.GRAPHIQL ?? cfg.NODE_ENV !== 'production',
    CHAT_FRAME_MAX_MS: cfg.CHAT_FRAME_MAX_MS ?? 4 * cfg.CHAT_FRAME_MS,
    // '*' never goes with credentials (it would reflect any origin); a list of origins does by default.
    CORS_CREDENTIALS: cfg.CORS_CREDENTIALS ?? cfg.CORS_ORIGINS !== '*',
    // Outside production, unset secrets are generated once per install and kept here (src/secrets.ts).
    SECRETS_FILE: cfg.SECRETS_FILE ?? join(dirname(resolve(cfg.STORAGE_DIR)), '.dawg-secrets'),
  }));

/** The environment as parsed: the two signing secrets may still be missing (see src/secrets.ts). */
export type EnvConfig = z.infer<typeof configSchema>;
/** What the api and the worker run with: both signing secrets known. There is no built-in default. */
export type Config = EnvConfig & { JWT_SECRET: string; FILES_SIGNING_SECRET: string };
export const SECRET_NAMES = ['JWT_SECRET', 'FILES_SIGNING_SECRET'] as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses `env` (default: process.env); throws a ConfigError naming every bad variable. Reads no files. */
export function parseConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<Record<keyof Config, string>> = {},
): EnvConfig {
  const merged: Record<string, string | undefined> = { ...env, ...overrides };
  // An empty variable means "unset", as in most dotenv tooling.
  for (const key of Object.keys(merged)) if (merged[key] === '') delete merged[key];
  const result = configSchema.safeParse(merged);
  const problems = result.success ? [] : result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  // Cross-variable rules are checked on the raw values so they are reported beside any other problem.
  for (const name of SECRET_NAMES)
    if (merged.NODE_ENV === 'production' && !merged[name]) problems.push(`${name}: is required when NODE_ENV=production`);
  if ((merged.CORS_ORIGINS ?? '*').trim() === '*' && ['true', '1'].includes(merged.CORS_CREDENTIALS ?? ''))
    problems.push(
      "CORS_CREDENTIALS: cannot be true with CORS_ORIGINS='*' (any site could send credentialed requests); list the origins",
    );
  if (merged.STORAGE_DRIVER === 's3' && !merged.S3_BUCKET) problems.push('S3_BUCKET: is required when STORAGE_DRIVER=s3');
  if (result.success) {
    // Limits below the dearest field would refuse every logIn and signUp.
    const { GRAPHQL_MAX_COST: maxCost, GRAPHQL_COST_PER_MINUTE: perMinute } = result.data;
    if (maxCost < MAX_FIELD_COST)
      problems.push(`GRAPHQL_MAX_COST: must be at least ${MAX_FIELD_COST} (what one logIn or signUp costs)`);
    if (perMinute < maxCost) problems.push('GRAPHQL_COST_PER_MINUTE: must be at least GRAPHQL_MAX_COST');
  }
  if (!result.success || problems.length) throw new ConfigError(problems);
  return result.data;
}

/** Fills the secrets the environment left unset from `stored` (the install's secrets file); throws if any is still missing. */
export function withSecrets(config: EnvConfig, stored: Partial<Record<(typeof SECRET_NAMES)[number], string>> = {}): Config {
  const JWT_SECRET = config.JWT_SECRET ?? stored.JWT_SECRET;
  const FILES_SIGNING_SECRET = config.FILES_SIGNING_SECRET ?? stored.FILES_SIGNING_SECRET;
  const missing = SECRET_NAMES.filter((name) => !{ JWT_SECRET, FILES_SIGNING_SECRET }[name]);
  if (missing.length || !JWT_SECRET || !FILES_SIGNING_SECRET)
    throw new ConfigError(missing.map((name) => `${name}: is not set (the api and worker generate one in SECRETS_FILE)`));
  return { ...config, JWT_SECRET, FILES_SIGNING_SECRET };
}

/** parseConfig + both secrets from the environment itself (tests, tools). Reads no files. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<Record<keyof Config, string>> = {},
): Config {
  return withSecrets(parseConfig(env, overrides));
}

/** For entry points: run `load` or print every configuration problem and exit 1. */
export function orExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

/** For tools that need no secrets (migrations): the parsed environment or exit 1. */
export function loadConfigOrExit(): EnvConfig {
  return orExit(() => parseConfig());
}
