/** Plain HTTP endpoints beside /graphql: liveness, readiness, Prometheus metrics. */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Db } from '../db/client.js';
import type { Metrics } from '../metrics.js';
import type { Redis } from '../redis.js';
import { FILES_PATH, LocalStorage, type Storage, contentTypeOf } from '../storage/index.js';
import { GRAPHIQL_ASSETS_PATH, serveGraphiqlAsset } from './graphiql.js';

/** GET /files/<key>?expires=…&signature=… for the local storage driver. */
async function serveFile(storage: LocalStorage, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://local');
  let key: string;
  try {
    key = decodeURIComponent(url.pathname.slice(FILES_PATH.length));
  } catch {
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

function send(res: ServerResponse, status: number, body: string, type = 'application/json') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

async function check(probe: () => Promise<unknown>, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return 'ok';
  } catch (err) {
    // /ready is public: a driver's message (host, port, user) stays out of it; the logs have it.
    return err instanceof Error && err.message === 'timeout' ? 'timeout' : 'unavailable';
  } finally {
    clearTimeout(timer);
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
export async function serveMetrics(metrics: Metrics, token: string | undefined, req: IncomingMessage, res: ServerResponse) {
  const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
  if (token !== undefined && !sameToken(given, token)) {
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
    res.end(JSON.stringify({ error: 'metrics need a bearer token' }));
    return;
  }
  send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
}

export function createRoutes(deps: {
  prisma: Db;
  redis: Redis;
  metrics: Metrics;
  storage: Storage;
  isShuttingDown: () => boolean;
  metricsAccess: MetricsAccess;
}) {
  return async function route(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path === '/health') {
      send(res, 200, JSON.stringify({ status: 'ok' }));
      return true;
    }
    if (path === '/ready') {
      const [database, redis] = await Promise.all([
        check(() => deps.prisma.$queryRaw`SELECT 1`, 2_000),
        check(() => deps.redis.ping(), 2_000),
      ]);
      const shuttingDown = deps.isShuttingDown();
      const ready = database === 'ok' && redis === 'ok' && !shuttingDown;
      send(res, ready ? 200 : 503, JSON.stringify({ status: ready ? 'ready' : 'not ready', database, redis, shuttingDown }));
      return true;
    }
    if (path?.startsWith(GRAPHIQL_ASSETS_PATH)) return serveGraphiqlAsset(path, res, req);
    if (path?.startsWith(FILES_PATH) && deps.storage instanceof LocalStorage) return serveFile(deps.storage, req, res);
    if (path === '/metrics' && deps.metricsAccess.onThisPort) {
      await serveMetrics(deps.metrics, deps.metricsAccess.token, req, res);
      return true;
    }
    return false;
  };
}
