/** Plain HTTP endpoints beside /graphql: liveness, readiness, Prometheus metrics. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Db } from '../db/client.js';
import type { Metrics } from '../metrics.js';
import type { Redis } from '../redis.js';
import { GRAPHIQL_ASSETS_PATH, serveGraphiqlAsset } from './graphiql.js';

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
        timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return 'ok';
  } catch (err) {
    return err instanceof Error ? err.message : 'failed';
  } finally {
    clearTimeout(timer);
  }
}

export function createRoutes(deps: { prisma: Db; redis: Redis; metrics: Metrics; isShuttingDown: () => boolean }) {
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
    if (path === '/metrics') {
      send(res, 200, await deps.metrics.registry.metrics(), deps.metrics.registry.contentType);
      return true;
    }
    return false;
  };
}
