/**
 * Issue 10 item 10: argon2id with rehash on logIn, logOut / logOutEverywhere honoured by every api
 * instance within a second, and what signUp / logIn reveal about which emails exist.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { hash } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, collect, gql, type RunningApp, signUp, startApp, type TestUser, wsClient } from '../helpers/harness.js';

const LOG_IN = 'mutation($e: String!, $p: String!) { logIn(email: $e, password: $p) { token user { id } } }';
const SIGN_UP = 'mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { token user { id } } }';
const CONVERSATIONS = '{ conversations(first: 1) { edges { node { id } } } }';
const PASSWORD = 'correct horse battery';

let a: RunningApp;
let b: RunningApp;
beforeAll(async () => {
  // Two api instances on one database and Redis prefix, as behind a load balancer.
  [a, b] = await Promise.all([startApp(), startApp()]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

const logIn = async (app: RunningApp, email: string, password = PASSWORD) =>
  gql(app.graphqlUrl, LOG_IN, { e: email, p: password });
const storedHash = async (email: string) =>
  (await a.app.prisma.user.findUniqueOrThrow({ where: { email }, select: { passwordHash: true } })).passwordHash;
const works = async (app: RunningApp, token: string) =>
  (await gql(app.graphqlUrl, CONVERSATIONS, {}, token)).errors === undefined;

/** Milliseconds until `token` is refused on `app`, polling every 20 ms (fails after 3 s). */
async function refusedWithin(app: RunningApp, token: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    const res = await gql(app.graphqlUrl, CONVERSATIONS, {}, token);
    if (codes(res)[0] === 'UNAUTHENTICATED') {
      expect(res.errors?.[0]?.message).toBe('Token revoked, log in again');
      return Date.now() - started;
    }
    if (Date.now() - started > 3_000) throw new Error('token still accepted after 3 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('password hashes', () => {
  it('replaces a seed-era scrypt hash (N=2^15) with argon2id at the first logIn, and the password still works', async () => {
    const user = await signUp(a.graphqlUrl);
    const salt = randomBytes(16);
    const key = scryptSync(PASSWORD, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const legacy = ['scrypt', 2 ** 15, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
    await a.app.prisma.user.update({ where: { email: user.email }, data: { passwordHash: legacy } });

    expect(codes(await logIn(a, user.email, 'not the password'))).toEqual(['UNAUTHENTICATED']);
    expect(await storedHash(user.email)).toBe(legacy); // a wrong password changes nothing
    expect((await logIn(a, user.email)).data?.logIn.user.id).toBe(user.id);
    expect(await storedHash(user.email)).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await logIn(b, user.email)).data?.logIn.user.id).toBe(user.id);
  });

  it('replaces an argon2id hash made with weaker parameters, and keeps a current one as it is', async () => {
    const user = await signUp(a.graphqlUrl);
    const weak = await hash(PASSWORD, { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await a.app.prisma.user.update({ where: { email: user.email }, data: { passwordHash: weak } });
    expect((await logIn(a, user.email)).data?.logIn.user.id).toBe(user.id);
    const upgraded = await storedHash(user.email);
    expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await logIn(a, user.email)).data?.logIn.user.id).toBe(user.id);
    expect(await storedHash(user.email)).toBe(upgraded);
  });
});

describe('logOut and logOutEverywhere across two api instances', () => {
  it('logOut revokes only the token it was sent with, on both instances within 1 s', async () => {
    const user = await signUp(a.graphqlUrl, PASSWORD);
    const other = (await logIn(b, user.email)).data?.logIn.token as string;
    // Both instances have verified (and cached) both tokens.
    for (const app of [a, b]) for (const token of [user.token, other]) expect(await works(app, token)).toBe(true);

    const out = await gql(a.graphqlUrl, 'mutation { logOut }', {}, user.token);
    expect(out.data?.logOut).toBe(true);
    expect(codes(await gql(a.graphqlUrl, CONVERSATIONS, {}, user.token))).toEqual(['UNAUTHENTICATED']);
    expect(await refusedWithin(b, user.token)).toBeLessThan(1_000);
    // The session logged in elsewhere is untouched, and the revoked token cannot open a socket.
    for (const app of [a, b]) expect(await works(app, other)).toBe(true);
    expect(await wsClient(b.wsUrl, user.token).closed).toBe(4403);
  });

  it('logOutEverywhere revokes every token of the user on both instances within 1 s, and new logIns work', async () => {
    const user: TestUser = await signUp(a.graphqlUrl, PASSWORD);
    const second = (await logIn(a, user.email)).data?.logIn.token as string;
    const bystander = await signUp(b.graphqlUrl);
    for (const app of [a, b]) for (const token of [user.token, second]) expect(await works(app, token)).toBe(true);

    const out = await gql(b.graphqlUrl, 'mutation { logOutEverywhere }', {}, second);
    expect(out.data?.logOutEverywhere).toBe(true);
    const elapsed = await Promise.all([refusedWithin(a, user.token), refusedWithin(a, second), refusedWithin(b, user.token)]);
    for (const ms of elapsed) expect(ms).toBeLessThan(1_000);
    expect(await works(b, bystander.token)).toBe(true);

    const fresh = (await logIn(a, user.email)).data?.logIn.token as string;
    for (const app of [a, b]) expect(await works(app, fresh)).toBe(true);
    const ws = wsClient(b.wsUrl, fresh);
    const me = collect<{ me: { id: string } }>(ws.client, '{ me { id } }');
    expect((await me.nth(1)).me.id).toBe(user.id);
    await ws.client.dispose();
  });

  it('needs a token', async () => {
    expect(codes(await gql(a.graphqlUrl, 'mutation { logOut }'))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await gql(a.graphqlUrl, 'mutation { logOutEverywhere }'))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('what signUp and logIn reveal about existing emails', () => {
  it('logIn answers an unknown email and a wrong password alike; signUp says "taken" (limited per IP, below)', async () => {
    const user = await signUp(a.graphqlUrl);
    const wrong = await logIn(a, user.email, 'not the password');
    const unknown = await logIn(a, `nobody-${Date.now()}@example.test`);
    expect(wrong.errors).toEqual(unknown.errors);
    const taken = await gql(a.graphqlUrl, SIGN_UP, { e: user.email, p: PASSWORD });
    expect(codes(taken)).toEqual(['BAD_USER_INPUT']);
    expect(taken.errors?.[0]?.message).toBe('email: is already registered');
    expect(await a.app.prisma.user.count({ where: { email: user.email } })).toBe(1);
  });
});
