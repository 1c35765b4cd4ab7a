/**
 * buildApp wires one api process: Prisma, Redis, pub/sub, services, yoga,
 * graphql-ws and the plain HTTP routes, all on one HTTP server. It returns
 * { start, stop } and touches no globals, so tests can run several.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga } from 'graphql-yoga';
import type { Config } from './config.js';
import { closeDb, createPool, createPrisma, type Db } from './db/client.js';
import { ReadRouter } from './db/read-router.js';
import { TableChanges } from './db/table-changes.js';
import { ReplicaSet } from './db/replicas.js';
import { WriteMarks } from './db/write-marks.js';
import { createMaskError, finishErrors, yogaLogger } from './graphql/error-handling.js';
import type { Context } from './graphql/context.js';
import { boundedParserCache } from './graphql/document-cache.js';
import { createPipeline } from './graphql/pipeline.js';
import { ResponseCache } from './graphql/response-cache.js';
import { schema } from './graphql/schema.js';
import { createGenerationQueue } from './jobs/generation-job.js';
import { createUploadQueue } from './jobs/upload-job.js';
import { createStorage } from './storage/index.js';
import { hasLocalGraphiql, renderLocalGraphiql } from './http/graphiql.js';
import { createGraphqlPost, toYoga } from './http/graphql-post.js';
import { createAdminArea } from './http/admin/admin-area.js';
import { AdminSessions } from './http/admin/admin-session.js';
import { createHttpFront } from './http/front.js';
import { listen } from './http/listen.js';
import { createRoutes, serveMetrics } from './http/routes.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { PubSub } from './pubsub.js';
import { closeRedis, createRedis, type Redis, redisTarget } from './redis.js';
import { createLimiters } from './rate-limit.js';
import { createServices, type Services } from './services.js';
import { clientIp, fromTrustedProxy } from './http/client-ip.js';
import { nodeHeaders } from './http/node-headers.js';
import { PublicUrl } from './http/public-url.js';
import { attachGraphqlWs, type WsInitialContext } from './transport/graphql-ws.js';
import { featureModulesLoaded } from './lazy-module.js';

export const GRAPHQL_PATH = '/graphql';

/** What the context of a graphql-ws operation takes from its socket's upgrade request. */
interface WsUpgrade {
  publicUrl: string;
}

export interface App {
  server: Server;
  prisma: Db;
  redis: Redis;
  services: Services;
  log: Logger;
  /** Listens on config HOST/PORT (PORT 0 picks a free port); resolves to the base URL. */
  start(): Promise<string>;
  /** Stops accepting, closes sockets (1001), Redis and Prisma. */
  stop(): Promise<void>;
}

export function buildApp(config: Config, options: { log?: Logger; logQueries?: boolean } = {}): App {
  const log = options.log ?? createLogger(config);
  const sql = createPool(config, { log });
  const replicas = config.DATABASE_REPLICA_URL.length
    ? new ReplicaSet({
        urls: config.DATABASE_REPLICA_URL,
        primary: sql,
        poolSize: config.DATABASE_POOL_SIZE,
        maxLagMs: config.DATABASE_REPLICA_MAX_LAG_MS,
        log,
      })
    : null;
  const metrics = createMetrics({
    pool: sql,
    replicas: () => replicas?.replicas ?? [],
    subscriptionFields: Object.keys(schema.getSubscriptionType()?.getFields() ?? {}),
  });
  const prisma = createPrisma(config, { logQueries: options.logQueries, pool: sql });
  // Commands issued in the same turn of the event loop (rate limits, reply slots, publishes, chunks
  // of replies streaming side by side) go to Redis in one write: see docs/benchmarks.md, chat.
  // Both fail fast while Redis is away, so requests degrade within their 2 s instead of waiting.
  const redis = createRedis(redisTarget(config), log, 'dawg-api', { enableAutoPipelining: true, failFast: true });
  // BullMQ gets a plain connection of its own; it pipelines its own scripts.
  const queueRedis = createRedis(redisTarget(config), log, 'dawg-api-queue', { failFast: true });
  const subscriber = createRedis(redisTarget(config), log, 'dawg-api-sub', { followTopology: true });
  for (const [name, connection] of [
    ['dawg-api', redis],
    ['dawg-api-queue', queueRedis],
    ['dawg-api-sub', subscriber],
  ] as const)
    connection.on('error', () => metrics.redisErrors.inc({ connection: name }));
  const pubsub = new PubSub(redis, subscriber, config.REDIS_PREFIX, config.REDIS_FAILOVER_WAIT_MS);
  const storage = createStorage(config);
  const queue = createGenerationQueue(queueRedis, config.REDIS_PREFIX);
  queue.on('error', (err) => log.debug({ err: err.message }, 'generation queue error'));
  const uploadQueue = createUploadQueue(queueRedis, config.REDIS_PREFIX);
  uploadQueue.on('error', (err) => log.debug({ err: err.message }, 'upload queue error'));
  const limiters = createLimiters(redis, config, { log, metrics });
  // Read-your-writes marks matter only when there is a replica to lag behind.
  const marks = replicas
    ? new WriteMarks({ prisma, redis, prefix: config.REDIS_PREFIX, maxLagMs: config.DATABASE_REPLICA_MAX_LAG_MS })
    : null;
  const reads = new ReadRouter({
    primary: prisma,
    replicas,
    marks,
    counted: (route) => metrics.lagTolerantReads.inc({ route }),
    log,
  });
  const services = createServices({
    config,
    prisma,
    marks,
    sql,
    pubsub,
    queue,
    uploadQueue,
    storage,
    redis,
    log,
    metrics,
    limiters,
  });
  const publicUrl = new PublicUrl(config);
  let shuttingDown = false;

  const tableChanges = new TableChanges({ connectionString: config.DATABASE_URL, log });
  const responseCache = new ResponseCache({
    changes: tableChanges,
    maxEntries: config.GRAPHQL_RESPONSE_CACHE_ENTRIES,
    maxBytes: config.GRAPHQL_RESPONSE_CACHE_MB * 1024 * 1024,
    ttlMs: config.GRAPHQL_RESPONSE_CACHE_TTL_MS,
    schema,
    counted: (outcome) => metrics.responseCache.inc({ outcome }),
  });

  const cors = { origin: config.CORS_ORIGINS, credentials: config.CORS_CREDENTIALS };
  const plugins = createPipeline({
    responseCache,
    schema,
    log,
    metrics,
    limiter: limiters.requests,
    costLimiter: limiters.cost,
    costInFlight: config.GRAPHQL_COST_IN_FLIGHT,
    compiledSubscriptions: config.GRAPHQL_COMPILED_SUBSCRIPTIONS,
    limits: {
      maxDepth: config.GRAPHQL_MAX_DEPTH,
      maxAliases: config.GRAPHQL_MAX_ALIASES,
      maxTokens: config.GRAPHQL_MAX_TOKENS,
      maxDirectives: config.GRAPHQL_MAX_DIRECTIVES,
      maxCost: config.GRAPHQL_MAX_COST,
    },
  });
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    cors,
    graphiql: config.GRAPHIQL ? { title: 'dawg', subscriptionsProtocol: 'WS' } : false,
    renderGraphiQL: renderLocalGraphiql,
    maskedErrors: { maskError: createMaskError(log), isDev: false },
    parserAndValidationCache: boundedParserCache(),
    logging: yogaLogger(log),
    plugins,
    context: async (initial): Promise<Context> => {
      if ('wsViewer' in initial) {
        const { wsViewer, clientIp, upgrade } = initial as unknown as WsInitialContext<WsUpgrade>;
        return {
          viewer: wsViewer,
          authError: null,
          clientIp,
          publicUrl: upgrade.publicUrl,
          transport: 'ws',
          prisma,
          reads: reads.forOperation(wsViewer?.id ?? null),
          services,
          log,
        };
      }
      // A Fetch Request from yoga, or the lean path's { headers } (http/graphql-post.ts).
      const request = initial.request as Pick<Request, 'headers'>;
      const auth = await services.tokens.fromAuthorization(request.headers.get('authorization'));
      const req = initial.req as IncomingMessage;
      // Each property written out: on Node 20, `{ ...auth, more }` gave every context hidden classes of
      // its own in old space, 1.5 KB a request (docs/benchmarks.md, "What changed: request data freed young").
      return {
        viewer: auth.viewer,
        authError: auth.authError,
        clientIp: clientIp(req, request.headers, config.TRUST_PROXY),
        publicUrl: publicUrl.forRequest(request.headers, fromTrustedProxy(req, config.TRUST_PROXY)),
        transport: 'http',
        prisma,
        reads: reads.forOperation(auth.viewer?.id ?? null),
        services,
        log,
      };
    },
  });

  if (config.GRAPHIQL && !hasLocalGraphiql())
    log.warn('GraphiQL assets not installed (npm ci fetches them); GraphiQL will load them from a CDN');
  const graphqlPost = createGraphqlPost(yoga, {
    cors,
    finish: (result) => finishErrors(result, metrics),
    handled: (handler) => metrics.graphqlHttpRequests.inc({ handler }),
    answerText: (result) => responseCache.answerText(result),
  });
  // /metrics: on its own port when METRICS_PORT is set; else on this one, behind METRICS_TOKEN if
  // set. Production without either keeps it closed.
  const metricsOnThisPort = config.METRICS_PORT === undefined && (config.NODE_ENV !== 'production' || !!config.METRICS_TOKEN);
  if (!metricsOnThisPort && config.METRICS_PORT === undefined)
    log.warn('/metrics is closed: set METRICS_TOKEN or METRICS_PORT to scrape it in production');
  const metricsServer =
    config.METRICS_PORT === undefined
      ? null
      : createServer((req, res) => {
          if ((req.url ?? '/').split('?')[0] !== '/metrics') return void res.writeHead(404).end();
          serveMetrics(metrics, config.METRICS_TOKEN, req, res).catch(() => res.destroy());
        });
  // The operators' queue dashboard; ADMIN_QUEUES=false leaves every /admin path a 404.
  const admin = config.ADMIN_QUEUES
    ? createAdminArea({
        queues: [queue, uploadQueue],
        sessions: new AdminSessions({
          auth: services.auth,
          tokens: services.tokens,
          access: services.access,
          cookieMaxAgeSec: config.JWT_TTL_SECONDS,
          log,
        }),
        publicUrl,
        trustProxy: config.TRUST_PROXY,
      })
    : undefined;
  const routes = createRoutes({
    prisma,
    redis,
    metrics,
    storage,
    replicas: replicas ? () => replicas.states() : undefined,
    isShuttingDown: () => shuttingDown,
    metricsAccess: { onThisPort: metricsOnThisPort, token: config.METRICS_TOKEN },
    admin,
  });
  const server = createServer(
    createHttpFront({
      graphqlPath: GRAPHQL_PATH,
      maxBodyBytes: config.GRAPHQL_MAX_BODY_BYTES,
      metrics,
      log,
      routes,
      graphql: (req, res, body) => {
        if (config.GRAPHQL_LEAN_POST) return graphqlPost(req, res, body);
        metrics.graphqlHttpRequests.inc({ handler: 'yoga' });
        return toYoga(yoga, req, res, body) as Promise<void>;
      },
    }),
  );
  // An idle keep-alive connection outlives the proxies' own idle timeouts (config.ts). While stopping,
  // answers close their connection, so one in use when stop() began is not kept that long (until
  // SHUTDOWN_TIMEOUT_MS cuts it, maybe mid-request).
  server.keepAliveTimeout = config.HTTP_KEEP_ALIVE_TIMEOUT_MS;
  server.prependListener('request', (_req, res) => {
    if (shuttingDown) res.shouldKeepAlive = false;
  });
  const ws = attachGraphqlWs({
    server,
    path: GRAPHQL_PATH,
    yoga,
    tokens: services.tokens,
    metrics,
    trustProxy: config.TRUST_PROXY,
    log,
    keepAliveMs: config.WS_KEEPALIVE_MS,
    // The base URL of file links is the upgrade's, read once per socket.
    describeUpgrade: (upgrade): WsUpgrade => ({
      publicUrl: publicUrl.forRequest(nodeHeaders(upgrade), fromTrustedProxy(upgrade, config.TRUST_PROXY)),
    }),
    limits: {
      initTimeoutMs: config.WS_INIT_TIMEOUT_MS,
      maxSubscriptions: config.WS_MAX_SUBSCRIPTIONS,
      maxSocketsPerUser: config.WS_MAX_SOCKETS_PER_USER,
      maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    },
  });
  // Events published while pub/sub was cut never arrived: sockets are closed so clients catch up.
  const unwatchPubSub = pubsub.watchInterruptions(() => ws.resync());

  return {
    server,
    prisma,
    redis,
    services,
    log,
    start: async () => {
      // The SDKs of the configured providers and storage (src/lazy-module.ts): a broken install stops here.
      await featureModulesLoaded();
      await services.projectAccess.start();
      services.chat.startSweeping();
      // Before the first request: reads know at once which replicas are up and caught up.
      await replicas?.start();
      // Until it listens, nothing is cached.
      if (responseCache.enabled) tableChanges.start();
      if (metricsServer) {
        const url = await listen(metricsServer, config.METRICS_PORT as number, config.HOST);
        log.info({ url: `${url}/metrics` }, 'metrics served on their own port');
      }
      const url = await listen(server, config.PORT, config.HOST);
      const { port } = server.address() as AddressInfo;
      publicUrl.listen(port);
      log.info(
        { publicUrl: publicUrl.base },
        config.PUBLIC_URL || !config.TRUST_PROXY
          ? `signed file links start with ${publicUrl.base}${config.PUBLIC_URL ? '' : ' (set PUBLIC_URL to change it)'}`
          : `signed file links use the Host/X-Forwarded-* the trusted proxy sends, else ${publicUrl.base}`,
      );
      // Last: tests and scripts take this line as "ready".
      log.info({ port }, `dawg api listening on ${url}${GRAPHQL_PATH}`);
      return url;
    },
    stop: async () => {
      if (shuttingDown) return;
      shuttingDown = true;
      // A response already under way when stop() began: its connection closes a moment after it ends.
      server.keepAliveTimeout = 1;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      unwatchPubSub();
      await ws.close();
      await services.projectAccess.stop();
      services.presence.stop();
      services.chat.stopSweeping();
      const forced = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_TIMEOUT_MS);
      await closed;
      clearTimeout(forced);
      if (metricsServer) await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      await Promise.all([queue.close(), uploadQueue.close()]).catch(() => {});
      await Promise.allSettled([
        closeRedis(redis),
        closeRedis(queueRedis),
        closeRedis(subscriber),
        closeDb(prisma, sql),
        replicas?.stop(),
        tableChanges.stop(),
      ]);
      log.info('dawg api stopped');
    },
  };
}
