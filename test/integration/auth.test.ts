import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, gql, type RunningApp, signUp, startApp, testConfig, rawId } from '../helpers/harness.js';

const ME = '{ me { id email role } }';
const CONVERSATIONS = '{ conversations { edges { node { id } } } }';
const SIGN_UP = 'mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { token user { id email role } } }';
const LOG_IN = 'mutation($e: String!, $p: String!) { logIn(email: $e, password: $p) { token user { id email } } }';

let api: RunningApp;
beforeAll(async () => {
  api = await startApp();
});
afterAll(() => api.stop());

const userCount = (email: string) => api.app.prisma.user.count({ where: { email: email.toLowerCase() } });

describe('signUp and logIn', () => {
  it('signs up, logs in and identifies the user with the token', async () => {
    const email = `Mixed.Case-${Date.now()}@Example.test`;
    const signed = await gql(api.graphqlUrl, SIGN_UP, { e: email, p: 'long enough pw' });
    expect(signed.errors).toBeUndefined();
    expect(signed.data.signUp.user).toMatchObject({ email: email.toLowerCase(), role: 'USER' });

    const logged = await gql(api.graphqlUrl, LOG_IN, { e: email, p: 'long enough pw' });
    expect(logged.data.logIn.user.id).toBe(signed.data.signUp.user.id);

    const me = await gql(api.graphqlUrl, ME, {}, logged.data.logIn.token);
    expect(me.data.me).toMatchObject({ id: signed.data.signUp.user.id, email: email.toLowerCase() });
  });

  it('stores an argon2id hash with OWASP parameters, never the password', async () => {
    const user = await signUp(api.graphqlUrl, 'my secret password');
    const row = await api.app.prisma.user.findUniqueOrThrow({ where: { email: user.email } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row.passwordHash).not.toContain('my secret password');
  });

  it('refuses a wrong password and an unknown email alike', async () => {
    const user = await signUp(api.graphqlUrl);
    const wrong = await gql(api.graphqlUrl, LOG_IN, { e: user.email, p: 'not the password' });
    const unknown = await gql(api.graphqlUrl, LOG_IN, { e: `nobody-${Date.now()}@example.test`, p: 'whatever123' });
    expect(codes(wrong)).toEqual(['UNAUTHENTICATED']);
    expect(codes(unknown)).toEqual(['UNAUTHENTICATED']);
    expect(wrong.errors?.[0]?.message).toBe(unknown.errors?.[0]?.message);
  });

  it.each([
    ['not-an-email', 'long enough pw', 'email'],
    ['', 'long enough pw', 'email'],
    [`${'x'.repeat(250)}@example.test`, 'long enough pw', 'email'],
    ['short@example.test', 'short', 'password'],
    ['long@example.test', 'x'.repeat(129), 'password'],
  ])('rejects %j / %j as BAD_USER_INPUT on %s and stores nothing', async (email, password, field) => {
    const res = await gql(api.graphqlUrl, SIGN_UP, { e: email, p: password });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.extensions?.field).toBe(field);
    expect(res.data).toBeNull();
    expect(await userCount(email)).toBe(0);
  });

  it('rejects a duplicate email, whatever its case, keeping one account', async () => {
    const user = await signUp(api.graphqlUrl);
    const res = await gql(api.graphqlUrl, SIGN_UP, { e: user.email.toUpperCase(), p: 'another password' });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.extensions?.field).toBe('email');
    expect(await userCount(user.email)).toBe(1);
  });
});

describe('tokens', () => {
  it('refuses protected fields without a token', async () => {
    const res = await gql(api.graphqlUrl, CONVERSATIONS);
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
    expect(res.errors?.[0]?.message).toBe('You must be logged in');
  });

  it('refuses a token signed with another secret', async () => {
    const user = await signUp(api.graphqlUrl);
    const forged = await new SignJWT({ role: 'ADMIN' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuer('dawg')
      .setAudience('dawg-api')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('an attacker secret that is long enough!!'));
    const res = await gql(api.graphqlUrl, CONVERSATIONS, {}, forged);
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
    expect(res.errors?.[0]?.message).toBe('Invalid token');
  });

  it('refuses an expired token with a message saying so', async () => {
    const user = await signUp(api.graphqlUrl);
    const expired = await new SignJWT({ role: 'USER' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuer('dawg')
      .setAudience('dawg-api')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(testConfig().JWT_SECRET));
    const res = await gql(api.graphqlUrl, CONVERSATIONS, {}, expired);
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
    expect(res.errors?.[0]?.message).toMatch(/expired/i);
  });

  it('refuses a malformed Authorization header', async () => {
    const res = await gql(api.graphqlUrl, CONVERSATIONS, {}, undefined, { authorization: 'Token abc' });
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
    expect(res.errors?.[0]?.message).toMatch(/Bearer/);
  });

  it('issues tokens that expire in 24 hours', async () => {
    const user = await signUp(api.graphqlUrl);
    const [, payload] = user.token.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    expect(claims.exp - claims.iat).toBe(24 * 3600);
    expect(claims.sub).toBe(rawId(user.id));
  });
});
