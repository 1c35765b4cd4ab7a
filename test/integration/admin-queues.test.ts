/**
 * The operators' queue dashboard (src/http/admin): Bull Board at /admin/queues for ADMIN users, who
 * sign in with a form and hold an HttpOnly cookie. Everyone else, and every refused request, gets
 * the 404 of a path that does not exist. Real PostgreSQL and Redis; the ADMIN role is set on the
 * user's row, as an operator would.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, gql, type RunningApp, signUp, startApp, type TestUser } from '../helpers/harness.js';

const PASSWORD = 'correct horse battery';
const LOG_IN = 'mutation($e: String!, $p: String!) { logIn(email: $e, password: $p) { token } }';
const GENERATE = 'mutation { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am" }) { id } }';

let api: RunningApp;
beforeAll(async () => {
  api = await startApp();
});
afterAll(() => api.stop());

interface Answer {
  status: number;
  type: string | null;
  body: string;
  setCookie: string | null;
  location: string | null;
}

async function call(base: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(`${base}${path}`, { redirect: 'manual', ...init });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    body: await res.text(),
    setCookie: res.headers.get('set-cookie'),
    location: res.headers.get('location'),
  };
}

/** What a path that does not exist answers, to compare refusals with. */
const unknownPath = (base = api.url) => call(base, `/no-such-path-${randomUUID()}`);

async function expectNotFound(answer: Answer, base = api.url) {
  const unknown = await unknownPath(base);
  expect(unknown.status).toBe(404);
  expect(answer).toEqual(unknown);
}

/** POSTs credentials to /admin/session as the sign-in form does (or as JSON). */
function postSession(
  email: string,
  password: string,
  options: { json?: boolean; headers?: Record<string, string>; base?: string } = {},
): Promise<Answer> {
  const body = options.json ? JSON.stringify({ email, password }) : new URLSearchParams({ email, password }).toString();
  const type = options.json ? 'application/json' : 'application/x-www-form-urlencoded';
  return call(options.base ?? api.url, '/admin/session', {
    method: 'POST',
    headers: { 'content-type': type, ...options.headers },
    body,
  });
}

/** A user made ADMIN on their row; `uuid` is the row's id (`id` is the GraphQL global id). */
async function makeAdmin(app: RunningApp = api): Promise<TestUser & { uuid: string }> {
  const user = await signUp(app.graphqlUrl, PASSWORD);
  const row = await app.app.prisma.user.update({ where: { email: user.email }, data: { role: 'ADMIN' } });
  return { ...user, uuid: row.id };
}

/** Signs `user` in through the form; the `Cookie` header value its answer sets. */
async function adminCookie(user: TestUser, base = api.url): Promise<string> {
  const answer = await postSession(user.email, PASSWORD, { base });
  expect(answer.status).toBe(303);
  return (answer.setCookie ?? '').split(';')[0] as string;
}

const withCookie = (cookie: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), cookie },
});

describe('the queue dashboard', () => {
  it('is a 404 like any unknown path for an anonymous caller: pages, API and assets', async () => {
    for (const path of [
      '/admin/queues',
      '/admin/queues/',
      '/admin/queues/api/queues',
      '/admin/queues/static/favicon-32x32.png',
      '/admin',
    ])
      await expectNotFound(await call(api.url, path));
    await expectNotFound(await call(api.url, '/admin/queues/api/queues/generation/resume', { method: 'PUT' }));
    await expectNotFound(await call(api.url, '/admin/logout', { method: 'POST' }));
  });

  it('serves a sign-in form that posts the credentials in the body, never in a URL', async () => {
    const page = await call(api.url, '/admin/login');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    expect(page.body).toMatch(/<form method="post" action="\/admin\/session">/);
    expect(page.body).toContain('type="password"');
  });

  it("answers a USER's valid credentials with the 404 and sets no cookie, JSON or form", async () => {
    const user = await signUp(api.graphqlUrl, PASSWORD);
    const form = await postSession(user.email, PASSWORD);
    expect(form.setCookie).toBeNull();
    await expectNotFound(form);
    await expectNotFound(await postSession(user.email, PASSWORD, { json: true }));
  });

  it("answers an ADMIN's wrong password, an unknown email and a body that is not a form with the 404", async () => {
    const admin = await makeAdmin();
    await expectNotFound(await postSession(admin.email, 'not the password'));
    await expectNotFound(await postSession(`nobody-${randomUUID()}@example.test`, PASSWORD));
    await expectNotFound(
      await call(api.url, '/admin/session', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }),
    );
  });

  it('signs an ADMIN in with a cookie the browser keeps to itself, and shows the generation queue with its job', async () => {
    const admin = await makeAdmin();
    const signedIn = await postSession(admin.email, PASSWORD);
    expect(signedIn.status).toBe(303);
    expect(signedIn.location).toBe('/admin/queues');
    const attributes = (signedIn.setCookie ?? '').split(';').map((a) => a.trim());
    const [pair, ...flags] = attributes;
    expect(pair).toMatch(/^dawg_admin=[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(flags).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/admin']));
    expect(flags).not.toContain('Secure'); // plain http here; see the proxy case below
    const maxAge = Number(flags.find((f) => f.startsWith('Max-Age='))?.slice('Max-Age='.length));
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(24 * 3600);
    const cookie = pair as string;
    const token = cookie.slice('dawg_admin='.length);
    // The cookie holds a token the api itself honours (it is one from the token service)...
    expect((await api.app.services.tokens.verify(token)) as object).toHaveProperty('viewer.role', 'ADMIN');

    const page = await call(api.url, '/admin/queues', withCookie(cookie));
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    expect(page.body).toContain('dawg queues');
    expect(page.body).toContain('<base href="/admin/queues/" />');
    // ...and it appears in no URL: not the redirect's, not the page's links.
    expect(signedIn.location).not.toContain(token);
    expect(page.body).not.toContain(token);
    const script = /<script defer src="(static\/js\/main\.[^"]+\.js)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    const asset = `/admin/queues/${script}`;
    expect((await call(api.url, asset, withCookie(cookie))).status).toBe(200);
    await expectNotFound(await call(api.url, asset));

    const { data } = await gql(api.graphqlUrl, GENERATE, {}, admin.token);
    const generationId = Buffer.from(data.generateBeat.id, 'base64').toString('utf8').split(':')[1] as string;
    const queues = await call(api.url, '/admin/queues/api/queues?activeQueue=generation&status=latest', withCookie(cookie));
    expect(queues.status).toBe(200);
    expect(queues.type).toMatch(/^application\/json/);
    const listed = JSON.parse(queues.body) as { queues: { name: string; jobs: { id: string }[] }[] };
    const generation = listed.queues.find((q) => q.name === 'generation');
    expect(generation?.jobs.map((j) => j.id)).toContain(generationId);
    const job = await call(api.url, `/admin/queues/api/queues/generation/${generationId}`, withCookie(cookie));
    expect(job.status).toBe(200);
    expect(JSON.parse(job.body)).toMatchObject({ job: { id: generationId, data: { type: 'BEAT', userId: admin.uuid } } });
  });

  it('signs an ADMIN in from a JSON body too', async () => {
    const admin = await makeAdmin();
    const signedIn = await postSession(admin.email, PASSWORD, { json: true });
    expect(signedIn.status).toBe(303);
    expect(signedIn.setCookie).toMatch(/^dawg_admin=/);
  });

  it("ignores an ADMIN's token anywhere but the cookie: query string or Authorization header", async () => {
    const admin = await makeAdmin();
    const { data } = await gql(api.graphqlUrl, LOG_IN, { e: admin.email, p: PASSWORD });
    const token = data.logIn.token as string;
    for (const query of [`token=${token}`, `access_token=${token}`, `authorization=Bearer%20${token}`, `dawg_admin=${token}`])
      await expectNotFound(await call(api.url, `/admin/queues?${query}`));
    await expectNotFound(await call(api.url, '/admin/queues/api/queues', { headers: { authorization: `Bearer ${token}` } }));
  });

  it('refuses the cookie once logOutEverywhere revoked its token', async () => {
    const admin = await makeAdmin();
    const cookie = await adminCookie(admin);
    expect((await call(api.url, '/admin/queues/api/queues', withCookie(cookie))).status).toBe(200);
    const { data } = await gql(api.graphqlUrl, LOG_IN, { e: admin.email, p: PASSWORD });
    const out = await gql(api.graphqlUrl, 'mutation { logOutEverywhere }', {}, data.logIn.token);
    expect(out.data?.logOutEverywhere).toBe(true);
    await expectNotFound(await call(api.url, '/admin/queues/api/queues', withCookie(cookie)));
    await expectNotFound(await call(api.url, '/admin/queues', withCookie(cookie)));
  });

  it('refuses the cookie as soon as the user is no longer an ADMIN, though the token still says so', async () => {
    const admin = await makeAdmin();
    const cookie = await adminCookie(admin);
    expect((await call(api.url, '/admin/queues', withCookie(cookie))).status).toBe(200);
    await api.app.prisma.user.update({ where: { id: admin.uuid }, data: { role: 'USER' } });
    await expectNotFound(await call(api.url, '/admin/queues', withCookie(cookie)));
    await expectNotFound(await call(api.url, '/admin/queues/api/queues', withCookie(cookie)));
  });

  it('signs out: the cookie is cleared and its token revoked', async () => {
    const admin = await makeAdmin();
    const cookie = await adminCookie(admin);
    const out = await call(api.url, '/admin/logout', withCookie(cookie, { method: 'POST' }));
    expect(out.status).toBe(303);
    expect(out.location).toBe('/admin/login');
    expect(out.setCookie).toMatch(/^dawg_admin=; Path=\/admin; Max-Age=0;/);
    await expectNotFound(await call(api.url, '/admin/queues', withCookie(cookie)));
  });

  it("refuses a cross-origin PUT, POST or sign-in even with the cookie; the api's own origin may", async () => {
    const admin = await makeAdmin();
    const cookie = await adminCookie(admin);
    const resume = '/admin/queues/api/queues/generation/resume'; // a no-op on a running queue
    const put = (origin?: string) =>
      call(api.url, resume, withCookie(cookie, { method: 'PUT', headers: origin ? { origin } : {} }));
    // Another site, an opaque origin, and a host that merely starts like ours.
    const lookalike = api.url.replace('127.0.0.1', '127.0.0.1.evil.example');
    for (const origin of ['https://evil.example', 'null', lookalike]) await expectNotFound(await put(origin));
    expect((await put(api.url)).status).toBe(200);
    expect((await put()).status).toBe(200); // no Origin: not a browser's cross-site request
    await expectNotFound(
      await call(api.url, '/admin/logout', withCookie(cookie, { method: 'POST', headers: { origin: 'https://evil.example' } })),
    );
    const crossSite = await postSession(admin.email, PASSWORD, { headers: { origin: 'https://evil.example' } });
    expect(crossSite.setCookie).toBeNull();
    await expectNotFound(crossSite);
    expect((await postSession(admin.email, PASSWORD, { headers: { origin: api.url } })).status).toBe(303);
  });

  it('labels every /admin path as one route in the HTTP metrics', async () => {
    await call(api.url, `/admin/queues/api/queues/${randomUUID()}`);
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(/dawg_http_requests_total\{route="\/admin\/\*",status="404"\}/);
    expect(metrics).not.toMatch(/route="\/admin\/queues/);
  });
});

describe('signing in to the dashboard', () => {
  it('counts a wrong password against the same login limits as the GraphQL logIn', async () => {
    const limited = await startApp({ LOGIN_ATTEMPTS_PER_ACCOUNT: '2' });
    try {
      const admin = await makeAdmin(limited);
      for (let i = 0; i < 2; i++)
        await expectNotFound(await postSession(admin.email, 'wrong', { base: limited.url }), limited.url);
      const graphql = await gql(limited.graphqlUrl, LOG_IN, { e: admin.email, p: PASSWORD });
      expect(codes(graphql)).toEqual(['RATE_LIMITED']);
      await expectNotFound(await postSession(admin.email, PASSWORD, { base: limited.url }), limited.url);
    } finally {
      await limited.stop();
    }
  });

  it('marks the cookie Secure when a trusted proxy says the browser used https', async () => {
    const proxied = await startApp({ TRUST_PROXY: 'loopback' });
    try {
      const admin = await makeAdmin(proxied);
      const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'dawg.example' };
      const signedIn = await postSession(admin.email, PASSWORD, {
        base: proxied.url,
        headers: { ...headers, origin: 'https://dawg.example' },
      });
      expect(signedIn.status).toBe(303);
      expect(signedIn.setCookie?.split(';').map((a) => a.trim())).toContain('Secure');
    } finally {
      await proxied.stop();
    }
  });

  it('ADMIN_QUEUES=false: every /admin path is the 404, for an ADMIN too', async () => {
    const off = await startApp({ ADMIN_QUEUES: 'false' });
    try {
      const admin = await makeAdmin(off);
      // A cookie from an api with the dashboard on (same signing secret) opens nothing here.
      const cookie = await adminCookie(admin);
      await expectNotFound(await call(off.url, '/admin/login'), off.url);
      const signedIn = await postSession(admin.email, PASSWORD, { base: off.url });
      expect(signedIn.setCookie).toBeNull();
      await expectNotFound(signedIn, off.url);
      await expectNotFound(await call(off.url, '/admin/queues', withCookie(cookie)), off.url);
      await expectNotFound(await call(off.url, '/admin/queues/api/queues', withCookie(cookie)), off.url);
    } finally {
      await off.stop();
    }
  });
});
