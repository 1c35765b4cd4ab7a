/**
 * The operators' area under /admin, for ADMIN users only, served from the api's plain routes:
 * - GET /admin/login, the sign-in form; POST /admin/session and /admin/logout (admin-session.ts);
 * - /admin/queues and below: Bull Board (queue-board.ts), pages, assets and JSON API alike, for a
 *   request whose cookie holds a live token (verified, not revoked) of a user who is an ADMIN now.
 * A refused request is `false`: the front stage's 404 for unknown paths, so a stranger cannot tell
 * the area from a path that does not exist. ADMIN_QUEUES=false leaves the area out (src/app.ts).
 *
 * Cross-site requests: the cookie is SameSite=Strict, so another site's requests arrive without it.
 * Besides, an unsafe method (the sign-in form, the board's retry, clean, promote and pause calls)
 * runs only when its Origin header, if the browser sent one, is this api's own: the base URL it is
 * reached at (PUBLIC_URL, a trusted proxy's headers, else the listening address) or one naming the
 * host the request was addressed to. That also refuses a sibling subdomain, which SameSite counts
 * as the same site.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Queue } from 'bullmq';
import { clientIp, fromTrustedProxy, type TrustProxy } from '../client-ip.js';
import { nodeHeaders } from '../node-headers.js';
import type { PublicUrl } from '../public-url.js';
import { type AdminSessions, serveLoginPage } from './admin-session.js';
import { ADMIN_LOGIN_PATH, ADMIN_LOGOUT_PATH, ADMIN_SESSION_PATH, isUnder, QUEUE_BOARD_PATH } from './paths.js';
import type { QueueBoard } from './queue-board.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function fromOwnOrigin(req: IncomingMessage, base: string): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || origin === base) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false; // "null" (a sandboxed frame, a cross-origin redirect) and anything else unreadable
  }
}

/** Answers a request under /admin; false when it is refused or no such page exists (the front's 404). */
export type AdminArea = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean>;

export function createAdminArea(deps: {
  queues: Queue[];
  sessions: AdminSessions;
  publicUrl: PublicUrl;
  trustProxy: TrustProxy;
}): AdminArea {
  let board: Promise<QueueBoard> | undefined;
  // Bull Board and express take ~170 ms and ~16 MB to load: only an api whose board is opened pays.
  const loadBoard = () =>
    (board ??= import('./queue-board.js')
      .then(({ createQueueBoard }) => createQueueBoard(deps.queues))
      .catch((err: unknown) => {
        board = undefined;
        throw err;
      }));

  return async (req, res, path) => {
    const headers = nodeHeaders(req);
    const base = deps.publicUrl.forRequest(headers, fromTrustedProxy(req, deps.trustProxy));
    const method = req.method ?? 'GET';
    if (!SAFE_METHODS.has(method) && !fromOwnOrigin(req, base)) return false;
    // The api itself speaks plain HTTP: https is what PUBLIC_URL or a trusted proxy says the client used.
    const secure = base.startsWith('https:');
    if (path === ADMIN_LOGIN_PATH && (method === 'GET' || method === 'HEAD')) return serveLoginPage(req, res);
    if (path === ADMIN_SESSION_PATH && method === 'POST')
      return deps.sessions.signIn(req, res, { clientIp: clientIp(req, headers, deps.trustProxy), secure });
    if (path === ADMIN_LOGOUT_PATH && method === 'POST') return deps.sessions.signOut(req, res, secure);
    if (!isUnder(path, QUEUE_BOARD_PATH) || !(await deps.sessions.admin(req))) return false;
    // The board's buttons change the queues: no other page may frame it to steer clicks onto them.
    res.setHeader('x-frame-options', 'DENY');
    // Queue contents are per-admin and change by the second: no cache keeps them.
    res.setHeader('cache-control', 'private, no-store');
    res.setHeader('content-security-policy', "frame-ancestors 'none'");
    return (await loadBoard())(req, res);
  };
}
