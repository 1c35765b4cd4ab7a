/**
 * The worker's HTTP port (WORKER_PORT on HOST): /health, /ready and /metrics, served by the same
 * code as the api's (src/http/routes.ts serveProbes). The port is for the cluster, like the api's
 * METRICS_PORT: /metrics is open there unless METRICS_TOKEN is set.
 */
import { createServer } from 'node:http';
import type { Config } from '../src/config.js';
import { listen } from '../src/http/listen.js';
import { type ProbeDeps, serveProbes } from '../src/http/routes.js';
import type { Logger } from '../src/logger.js';

export function createEndpoints(
  config: Pick<Config, 'WORKER_PORT' | 'HOST' | 'METRICS_TOKEN'>,
  deps: Omit<ProbeDeps, 'metricsAccess'>,
  log: Logger,
) {
  const probeDeps: ProbeDeps = { ...deps, metricsAccess: { onThisPort: true, token: config.METRICS_TOKEN } };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const handled =
      req.method === 'GET' || req.method === 'HEAD' ? serveProbes(path, req, res, probeDeps) : Promise.resolve(false);
    handled.then(
      (done) => {
        if (!done) res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
      },
      (err) => {
        log.warn({ err, path }, 'worker endpoint failed');
        res.destroy();
      },
    );
  });
  let url: string | null = null;
  return {
    /** Listens; resolves with the base URL (also logged). */
    async start(): Promise<string> {
      url = await listen(server, config.WORKER_PORT, config.HOST);
      log.info({ url }, `worker endpoints on ${url} (/health, /ready, /metrics)`);
      return url;
    },
    url: () => url,
    stop(): Promise<void> {
      if (!server.listening) return Promise.resolve();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
