/** Plain HTTP endpoints beside /graphql: liveness, readiness, Prometheus metrics, files (and their uploads), the admin area. */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Db } from '../db/client.js';
import type { Registry } from 'prom-client';
import type { Redis } from '../redis.js';
import { TimeoutError, withTimeout } from '../timeout.js';
import { FILES_PATH, LocalStorage, type Storage, contentTypeOf } from '../storage/index.js';
import { isAdminPath } from './admin/paths.js';
import { GRAPHIQL_ASSETS_PATH, serveGraphiqlAsset } from './graphiql.js';

/** A /files request's URL and the key it names (null when the path does not decode). */
function fileRequest(req: IncomingMessage): { url: URL; key: string | null } {
  const url = new URL(req.url ?? '/', 'http://local');
  try {
    return { url, key: decodeURIComponent(url.pathname.slice(FILES_PATH.length)) };
  } catch {
    return { url, key: null };
  }
}

/** GET /files/<key>?expires=…&signature=… for the local storage driver. */
async function serveFile(storage: LocalStorage, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const { url, key } = fileRequest(req);
  if (key === null) {
    send(res, 400, JSON.stringify({ error: 'bad path' }));
    return true;
  }
  const check = storage.verify(key, url.searchParams.get('expires'), url.searchParams.get('signature'));
  if (!check.ok) {
    send(res, 403, JSON.stringify({ error: check.reason === 'expired' ? 'link expired' : 'invalid signature' }));
    return true;
  }
  const body = await storage.get(key).catch(() => null);
  if (!body) {
    send(res, 404, JSON.stringify({ error: 'not found' }));
    return true;
  }
  const name = key.split('/').pop() ?? 'file';
  res.writeHead(200, {
    'content-type': contentTypeOf(key),
    'content-length': body.length,
    'cache-control': 'private, max-age=3600',
    'content-disposition': `inline; filename="${name}"`,
    'accept-ranges': 'none',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}

/**
 * PUT /files/uploads/<key>?expires=…&bytes=…&signature=… for the local storage driver: the body
 * streams to disk and is cut off as soon as it passes the signed size. 201 when stored.
 */
async function receiveFile(storage: LocalStorage, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const { url, key } = fileRequest(req);
  const refuse = (status: number, error: string) => {
    // The rest of a refused body is not read: the connection closes after the answer.
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', connection: 'close' });
    res.end(JSON.stringify({ error }));
    return true;
  };
  if (!key?.startsWith('uploads/')) return refuse(403, 'only uploads are accepted here');
  const check = storage.verifyPut(key, url.searchParams, req.headers['content-type'] ?? '');
  if (!check.ok) return refuse(403, check.reason);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) !== check.bytes)
    return refuse(
      Number(declared) > check.bytes ? 413 : 400,
      `the body must be exactly ${check.bytes} bytes, as createUpload was told`,
    );
  // A body cut off by the client (the connection closed) keeps nothing.
  const outcome = await storage.receive(key, req, check.bytes).catch(() => 'too-short' as const);
  if (outcome === 'stored') {
    send(res, 201, JSON.stringify({ ok: true, bytes: check.bytes }));
    return true;
  }
  if (outcome === 'exists') return refuse(409, 'this upload already has its file; create a new upload to send another');
  return refuse(
    outcome === 'too-large' ? 413 : 400,
    `the body must be exactly ${check.bytes} bytes, as createUpload was told (it was ${outcome === 'too-large' ? 'longer' : 'shorter'})`,
  );
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

async function check(probe: () => Promise<unknown>, timeoutMs: number): Promise<string> {
  try {
    await withTimeout(probe(), timeoutMs);
    return 'ok';
  } catch (err) {
    // /ready is public: a driver's message (host, port, user) stays out of it; the logs have it.
    return err instanceof TimeoutError ? 'timeout' : 'unavailable';
  }
}

/** How /metrics is reached: on this port or not, and with which bearer token if any. */
export interface MetricsAccess {
  onThisPort: boolean;
  token?: string;
}

const sameToken = (given: string, token: string) =>
  given.length === token.length && timingSafeEqual(Buffer.from(given), Buffer.from(token));

/** GET /metrics: Prometheus text, behind `Authorization: Bearer <token>` when a token is set. */
export async function serveMetrics(
  metrics: { registry: Registry },
  token: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
  if (token !== undefined && !sameToken(given, token)) {
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
    res.end(JSON.stringify({ error: 'metrics need a bearer token' }));
    return;
  }
  send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
}

/** What /health, /ready and /metrics need; the api and the worker serve them alike. */
export interface ProbeDeps {
  /** What /ready checks, by name (its JSON's keys): each settles when that dependency answers. */
  probes: Record<string, () => Promise<unknown>>;
  /**
   * What /ready reports without being decided by it: dependencies the process works without (read
   * replicas: reads fall back to the primary), so a load balancer does not drop it for them.
   */
  reported?: () => Record<string, unknown>;
  isShuttingDown: () => boolean;
  metrics: { registry: Registry };
  metricsAccess: MetricsAccess;
}

/**
 * GET /health (the process answers), /ready (every probe answers within 2 s and the process is
 * not shutting down: 200, else 503; with what `reported` says beside) and /metrics. False for any
 * other path.
 */
export async function serveProbes(path: string, req: IncomingMessage, res: ServerResponse, deps: ProbeDeps): Promise<boolean> {
  if (path === '/health') {
    send(res, 200, JSON.stringify({ status: 'ok' }));
    return true;
  }
  if (path === '/ready') {
    const names = Object.keys(deps.probes);
    const results = await Promise.all(names.map((name) => check(deps.probes[name] as () => Promise<unknown>, 2_000)));
    const shuttingDown = deps.isShuttingDown();
    const ready = results.every((r) => r === 'ok') && !shuttingDown;
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]]));
    const body = { status: ready ? 'ready' : 'not ready', ...checks, ...deps.reported?.(), shuttingDown };
    send(res, ready ? 200 : 503, JSON.stringify(body));
    return true;
  }
  if (path === '/metrics' && deps.metricsAccess.onThisPort) {
    await serveMetrics(deps.metrics, deps.metricsAccess.token, req, res);
    return true;
  }
  return false;
}

export function createRoutes(deps: {
  prisma: Db;
  redis: Redis;
  metrics: { registry: Registry };
  storage: Storage;
  /** Each read replica's state, in DATABASE_REPLICA_URL's order; /ready reports them as `replicas`. */
  replicas?: () => string[];
  isShuttingDown: () => boolean;
  metricsAccess: MetricsAccess;
  /** The operators' area under /admin (src/http/admin/admin-area.ts); absent when ADMIN_QUEUES=false. */
  admin?: (req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean>;
}) {
  const probeDeps: ProbeDeps = {
    probes: { database: () => deps.prisma.$queryRaw`SELECT 1`, redis: () => deps.redis.ping() },
    reported: deps.replicas && (() => ({ replicas: deps.replicas?.() })),
    isShuttingDown: deps.isShuttingDown,
    metrics: deps.metrics,
    metricsAccess: deps.metricsAccess,
  };
  return async function route(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    // Before the method check: the admin area takes POST and PUT too.
    if (deps.admin && isAdminPath(path)) return deps.admin(req, res, path);
    if (req.method === 'PUT' && path.startsWith(FILES_PATH) && deps.storage instanceof LocalStorage)
      return receiveFile(deps.storage, req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path.startsWith(GRAPHIQL_ASSETS_PATH)) return serveGraphiqlAsset(path, res, req);
    if (path.startsWith(FILES_PATH) && deps.storage instanceof LocalStorage) return serveFile(deps.storage, req, res);
    return serveProbes(path, req, res, probeDeps);
  };
}
