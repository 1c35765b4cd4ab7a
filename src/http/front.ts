/**
 * The HTTP front stage: every HTTP request passes here before any handler, so the HTTP-only
 * policies hold whichever handler answers (the lean POST path or yoga):
 * - the route label for metrics, from a fixed set of templates;
 * - the request id (X-Request-Id: the client's when it is a plain token, else a new one) and the
 *   request's trace span (src/tracing.ts);
 * - the plain routes (health, readiness, metrics, files, GraphiQL assets, the admin area under
 *   /admin, which keeps its own cookie and Origin rules: src/http/admin/admin-area.ts). A route that
 *   refuses a request answers false, and it gets the 404 of an unknown path;
 * - CSRF prevention: a POST a browser sends without a preflight (form-encoded, multipart, text/plain
 *   or no content type) runs nothing unless it carries a header only scripts can set. The rule is
 *   yoga's own plugin's (@graphql-yoga/plugin-csrf-prevention). GET is left to yoga, which never runs
 *   a mutation over GET, and a cross-site GET cannot carry the bearer token;
 * - no multipart requests (the schema takes no uploads): 415;
 * - the body limit, on the declared length and while reading (chunked), for every POST;
 * - a JSON body that does not parse is a 400 (GraphQL over HTTP), whoever would have answered it;
 *   so are a GET's `variables` or `extensions` that are not JSON objects.
 * GraphQL policies (limits, rate limits, context, masking, metrics) are envelop plugins, which the
 * lean path, yoga and graphql-ws all run (src/graphql/pipeline.ts).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { FILES_PATH } from '../storage/index.js';
import { contextFrom, inSpan, SpanKind } from '../tracing.js';
import { ADMIN_PATH, isAdminPath } from './admin/paths.js';
import { GRAPHIQL_ASSETS_PATH } from './graphiql.js';

/** Headers that mark a request as sent by a script (a browser preflights them). */
export const CSRF_HEADERS = ['x-graphql-yoga-csrf', 'apollo-require-preflight'];

/** A client's X-Request-Id is kept when it is a plain token; otherwise the request gets a new one. */
const REQUEST_ID = /^[\w.:-]{1,64}$/;

const FIXED_ROUTES = new Set(['/graphql', '/health', '/ready', '/metrics']);

/** The metrics label of a path: one of a fixed set, so no client can add series. */
export function routeLabel(path: string): string {
  if (FIXED_ROUTES.has(path)) return path;
  if (path.startsWith(FILES_PATH)) return `${FILES_PATH}*`;
  if (path.startsWith(GRAPHIQL_ASSETS_PATH)) return `${GRAPHIQL_ASSETS_PATH}*`;
  // Bull Board's pages, assets and per-queue, per-job API paths, and the sign-in: one series.
  if (isAdminPath(path)) return `${ADMIN_PATH}/*`;
  return 'other';
}

function refuse(res: ServerResponse, status: number, message: string, extra: Record<string, string> = {}): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...extra });
  res.end(body);
}

/** The body, or null as soon as it passes `maxBytes`: the rest is neither kept nor waited for. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (part: Buffer) => {
      size += part.length;
      if (size <= maxBytes) return void parts.push(part);
      req.off('data', onData);
      req.pause(); // read no more of it: the rest would only be allocated to be thrown away
      parts.length = 0;
      resolve(null);
    };
    req.on('data', onData);
    req.on('end', () => resolve(size <= maxBytes ? Buffer.concat(parts) : null));
    req.on('error', reject);
  });
}

/**
 * 413 for a body over the limit, then the connection is closed: a client that keeps sending
 * (chunked, or past its declared length) is cut a second after the answer, not read to the end.
 */
function refuseTooLarge(req: IncomingMessage, res: ServerResponse): void {
  refuse(res, 413, 'Request body too large', { connection: 'close' });
  res.once('finish', () => setTimeout(() => req.socket.destroy(), 1000).unref());
}

const csrf = useCSRFPrevention({ requestHeaders: CSRF_HEADERS });

/** yoga's CSRF rule on a Node request; false when the request must not run. */
function passesCsrf(req: IncomingMessage): boolean {
  const headers = {
    get: (name: string) => (req.headers[name] as string | undefined) ?? null,
    has: (name: string) => req.headers[name] !== undefined,
  };
  try {
    (csrf.onRequestParse as (payload: { request: { headers: typeof headers } }) => void)({ request: { headers } });
    return true;
  } catch {
    return false;
  }
}

/** A GET's `variables` or `extensions` that is not a JSON object (yoga would fail on it inside). */
function badGetParams(url: string): string | null {
  const query = url.indexOf('?');
  if (query < 0) return null;
  const params = new URLSearchParams(url.slice(query + 1));
  for (const name of ['variables', 'extensions']) {
    const value = params.get(name);
    if (value === null || value === '') continue;
    try {
      const parsed: unknown = JSON.parse(value);
      if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) return name;
    } catch {
      return name;
    }
  }
  return null;
}

const isJson = (type: string | undefined) => /^application\/(graphql-response\+)?json\b/i.test(type ?? '');

/** What a GraphQL handler gets: the body read and, for a JSON type, parsed. */
export interface GraphqlBody {
  raw: Buffer;
  /** The parsed JSON body; undefined when the content type is not JSON. */
  json?: unknown;
}

export function createHttpFront(opts: {
  graphqlPath: string;
  maxBodyBytes: number;
  metrics: Metrics;
  log: Logger;
  /** Answers a plain route; false for paths it does not serve. */
  routes: (req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean>;
  /** Answers a GraphQL request that passed the HTTP policies; `body` is null for GET and the like. */
  graphql: (req: IncomingMessage, res: ServerResponse, body: GraphqlBody | null) => Promise<void>;
}) {
  return (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = routeLabel(path);
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    res.setHeader('x-request-id', requestId);
    // The request's span continues a W3C traceparent the client sent; a no-op when tracing is off.
    return inSpan(
      `${req.method} ${route}`,
      async (span) => {
        await handle(req, res, path, route);
        span.setAttribute('http.response.status_code', res.statusCode);
      },
      {
        kind: SpanKind.SERVER,
        parent: contextFrom(req.headers, requestId),
        attributes: { 'http.request.method': req.method ?? '', 'http.route': route, 'dawg.request_id': requestId },
      },
    );
  };

  async function handle(req: IncomingMessage, res: ServerResponse, path: string, route: string): Promise<void> {
    const started = performance.now();
    res.once('finish', () => {
      opts.metrics.httpRequests.inc({ route, status: res.statusCode });
      opts.metrics.httpDuration.observe(
        { route, status: `${Math.floor(res.statusCode / 100)}xx` },
        (performance.now() - started) / 1000,
      );
    });
    try {
      if (await opts.routes(req, res, path)) return;
      if (path !== opts.graphqlPath) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
        return;
      }
      if (req.method !== 'POST') {
        const bad = badGetParams(req.url ?? '');
        if (bad) return refuse(res, 400, `${bad}: must be a JSON object`);
        return await opts.graphql(req, res, null);
      }
      if (!passesCsrf(req)) {
        return refuse(res, 403, `Required CSRF header missing: send one of ${CSRF_HEADERS.join(', ')}, or a JSON body`);
      }
      // The schema takes no file uploads, so no GraphQL multipart request (yoga would parse one and
      // fail inside on a bad `operations` part).
      if (/^multipart\//i.test(req.headers['content-type'] ?? '')) {
        return refuse(res, 415, 'multipart requests are not accepted (no file uploads): POST JSON');
      }
      if (Number(req.headers['content-length'] ?? 0) > opts.maxBodyBytes) return refuseTooLarge(req, res);
      const raw = await readBody(req, opts.maxBodyBytes);
      if (raw === null) return refuseTooLarge(req, res);
      if (!isJson(req.headers['content-type'])) return await opts.graphql(req, res, { raw });
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        return refuse(res, 400, 'The request body is not valid JSON');
      }
      return await opts.graphql(req, res, { raw, json });
    } catch (err) {
      // The server's fault (a handler threw); client mistakes are answered above.
      opts.log.error({ err, request_id: res.getHeader('x-request-id') }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end();
    }
  }
}
