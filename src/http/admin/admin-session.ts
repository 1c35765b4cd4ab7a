/**
 * How an operator signs in to the admin area from a browser, with no token in any URL: a form posts
 * email and password to /admin/session, which runs AuthService.logIn (the GraphQL `logIn`'s own
 * path: the same password check, the same login rate limits) and, for an ADMIN, sets an HttpOnly
 * cookie holding the access token logIn issued. It is a token like any other: logOut and
 * logOutEverywhere revoke it, and it expires with JWT_TTL_SECONDS.
 *
 * Every refusal (unknown email, wrong password, rate limited, not an ADMIN, a body that is not a
 * form) is `false`, which the front stage answers with its 404 for unknown paths: nothing tells a
 * stranger that the area exists, or which of the checks failed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Access } from '../../access/access.js';
import { isAdmin } from '../../access/rules.js';
import { errorCode } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { AuthService } from '../../modules/auth/auth.service.js';
import type { TokenService } from '../../modules/auth/tokens.js';
import type { Viewer } from '../../modules/auth/viewer.js';
import { readBody } from '../front.js';
import { ADMIN_LOGIN_PATH, ADMIN_PATH, ADMIN_SESSION_PATH, QUEUE_BOARD_PATH } from './paths.js';

export const ADMIN_COOKIE = 'dawg_admin';
/** An email and a password with room to spare; a larger body is refused unread. */
const MAX_FORM_BYTES = 4096;

/** The value of cookie `name` in the request's Cookie header, or null. */
function readCookie(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

/**
 * Scoped to /admin (the GraphQL endpoint never sees it, so it cannot stand in for a bearer token),
 * out of scripts' reach, and never sent with another site's requests.
 */
function sessionCookie(token: string, maxAgeSec: number, secure: boolean): string {
  return `${ADMIN_COOKIE}=${token}; Path=${ADMIN_PATH}; Max-Age=${maxAgeSec}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** email and password from a form post or a JSON body; null for anything else. */
async function readCredentials(req: IncomingMessage): Promise<{ email: string; password: string } | null> {
  const type = req.headers['content-type'] ?? '';
  const form = /^application\/x-www-form-urlencoded\b/i.test(type);
  if (!form && !/^application\/json\b/i.test(type)) return null;
  if (Number(req.headers['content-length'] ?? 0) > MAX_FORM_BYTES) return null;
  const raw = await readBody(req, MAX_FORM_BYTES);
  if (raw === null) return null;
  let fields: Record<string, unknown>;
  if (form) fields = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  else {
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
      fields = parsed as Record<string, unknown>;
    } catch {
      return null;
    }
  }
  const { email, password } = fields;
  return typeof email === 'string' && typeof password === 'string' ? { email, password } : null;
}

const LOGIN_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dawg operators</title>
</head>
<body>
<h1>dawg operators</h1>
<form method="post" action="${ADMIN_SESSION_PATH}">
<p><label>Email <input name="email" type="email" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button type="submit">Sign in</button></p>
</form>
</body>
</html>
`;

/** GET /admin/login: the sign-in form; no script, no style, posts only to this api, never framed. */
export function serveLoginPage(req: IncomingMessage, res: ServerResponse): boolean {
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    'x-frame-options': 'DENY',
  });
  res.end(req.method === 'HEAD' ? undefined : LOGIN_PAGE);
  return true;
}

export class AdminSessions {
  constructor(
    private readonly deps: {
      auth: AuthService;
      tokens: TokenService;
      access: Access;
      /** The cookie's lifetime: the token's (JWT_TTL_SECONDS), so the browser drops it when the token expires. */
      cookieMaxAgeSec: number;
      log: Logger;
    },
  ) {}

  /** The viewer behind the request's cookie if its token holds (verified, not revoked) and they are an ADMIN now. */
  async admin(req: IncomingMessage): Promise<Viewer | null> {
    const token = readCookie(req, ADMIN_COOKIE);
    if (!token) return null;
    const verified = await this.deps.tokens.verify(token);
    if ('error' in verified) return null;
    return (await this.deps.access.isAdminNow(verified.viewer)) ? verified.viewer : null;
  }

  /** POST /admin/session: an ADMIN's credentials get the cookie and a 303 to the board; false otherwise. */
  async signIn(
    req: IncomingMessage,
    res: ServerResponse,
    request: { clientIp: string | null; secure: boolean },
  ): Promise<boolean> {
    const credentials = await readCredentials(req);
    if (!credentials) return false;
    let session: Awaited<ReturnType<AuthService['logIn']>>;
    try {
      session = await this.deps.auth.logIn(credentials, request.clientIp);
    } catch (err) {
      const code = errorCode(err);
      if (!code) throw err;
      this.deps.log.info({ reason: code, clientIp: request.clientIp }, 'admin sign-in refused');
      return false;
    }
    // The token logIn signed for anyone else is dropped unsent: nobody holds it.
    if (!isAdmin(session.user)) {
      this.deps.log.info(
        { reason: 'not an admin', userId: session.user.id, clientIp: request.clientIp },
        'admin sign-in refused',
      );
      return false;
    }
    this.deps.log.info({ userId: session.user.id, clientIp: request.clientIp }, 'admin signed in');
    res.writeHead(303, {
      location: QUEUE_BOARD_PATH,
      'set-cookie': sessionCookie(session.token, this.deps.cookieMaxAgeSec, request.secure),
      'cache-control': 'no-store',
    });
    res.end();
    return true;
  }

  /**
   * POST /admin/logout: the cookie's token is revoked and the cookie cleared, whatever its user's role
   * is now (an admin demoted since signing in still signs out); false without a valid session cookie.
   */
  async signOut(req: IncomingMessage, res: ServerResponse, secure: boolean): Promise<boolean> {
    const token = readCookie(req, ADMIN_COOKIE);
    const verified = token ? await this.deps.tokens.verify(token) : null;
    if (!verified || 'error' in verified) return false;
    await this.deps.tokens.revoke(verified.viewer);
    res.writeHead(303, { location: ADMIN_LOGIN_PATH, 'set-cookie': sessionCookie('', 0, secure), 'cache-control': 'no-store' });
    res.end();
    return true;
  }
}
