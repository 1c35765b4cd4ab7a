/**
 * The operators' area: its paths only, so the front stage (route labels) and the plain routes can
 * recognise it without loading what serves it (Bull Board and express load on first use).
 */

/** Everything under it is the admin area; the session cookie is scoped to it. */
export const ADMIN_PATH = '/admin';
/** The sign-in form (GET). */
export const ADMIN_LOGIN_PATH = '/admin/login';
/** Sign in (POST email and password) and get the session cookie. */
export const ADMIN_SESSION_PATH = '/admin/session';
/** Sign out (POST): the cookie's token is revoked and the cookie cleared. */
export const ADMIN_LOGOUT_PATH = '/admin/logout';
/** Bull Board: its pages, static assets and JSON API. */
export const QUEUE_BOARD_PATH = '/admin/queues';

/** Whether `path` is `base` or below it ('/admin/queues2' is not below '/admin/queues'). */
export const isUnder = (path: string, base: string) => path === base || path.startsWith(`${base}/`);

export const isAdminPath = (path: string) => isUnder(path, ADMIN_PATH);
