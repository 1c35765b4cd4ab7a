/**
 * Issue 16 item 1: no built-in signing secret. Credentials signed with the constant the seed
 * published are refused; without JWT_SECRET / FILES_SIGNING_SECRET an install generates its own
 * into a 0600 file that survives restarts.
 */
import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { resolveSecrets } from '../../src/secrets.js';
import { collect, gql, signUp, testEnv, type TestUser, wsClient, rawId } from '../helpers/harness.js';
import { createOwnDatabase } from '../helpers/database.js';
import { type ApiProcess, spawnApi, spawnWorker } from '../helpers/process.js';

/** What src/config.ts used when JWT_SECRET was unset (and FILES_SIGNING_SECRET derived from it). */
const PUBLISHED = 'dawg-development-secret-change-me-0000000000';
const ME = '{ me { id email role } }';
const CONVERSATIONS = '{ conversations { edges { node { id } } } }';

let dir: string;
let env: Record<string, string>;
let api: ApiProcess;
let victim: TestUser;
let database: Awaited<ReturnType<typeof createOwnDatabase>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dawg-secrets-'));
  database = await createOwnDatabase(); // its worker reconciles this file's rows only
  env = { JWT_SECRET: '', FILES_SIGNING_SECRET: '', STORAGE_DIR: join(dir, 'storage'), DATABASE_URL: database.url };
  api = await spawnApi(env);
  victim = await signUp(api.graphqlUrl);
}, 60_000);
afterAll(async () => {
  await api?.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
  await database?.drop();
});

describe('signing secrets when none is configured', () => {
  it('generates them into a 0600 file beside the storage directory and says so in one log line', async () => {
    const file = join(dir, '.dawg-secrets');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(file, 'utf8'));
    expect(stored.JWT_SECRET).toHaveLength(64);
    expect(stored.FILES_SIGNING_SECRET).not.toBe(stored.JWT_SECRET);
    expect(api.output().match(/signing secrets: /g)).toHaveLength(1);
    expect(api.output()).toContain(`generated a random JWT_SECRET and FILES_SIGNING_SECRET into ${file}`);
  });

  it('refuses a JWT signed with the published constant over HTTP and graphql-ws', async () => {
    const forged = await new SignJWT({ role: 'ADMIN' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(rawId(victim.id))
      .setIssuer('dawg')
      .setAudience('dawg-api')
      .setIssuedAt()
      .setExpirationTime('10y')
      .sign(new TextEncoder().encode(PUBLISHED));
    const http = await gql(api.graphqlUrl, CONVERSATIONS, {}, forged);
    expect(http.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(http.errors?.[0]?.message).toBe('Invalid token');
    expect((await gql(api.graphqlUrl, ME, {}, forged)).data?.me ?? null).toBeNull();

    const ws = wsClient(api.wsUrl, forged);
    expect(await ws.closed).toBe(4403);

    // The same request with the victim's real token works on both transports (the test can fail).
    expect((await gql(api.graphqlUrl, ME, {}, victim.token)).data?.me.id).toBe(victim.id);
    expect((await gql(api.graphqlUrl, CONVERSATIONS, {}, victim.token)).errors).toBeUndefined();
    const real = wsClient(api.wsUrl, victim.token);
    const me = collect<{ me: { id: string } }>(real.client, ME);
    expect((await me.nth(1)).me.id).toBe(victim.id);
    await real.client.dispose();
  });

  it('refuses a /files URL signed with the published constant (403), serves a genuine one', async () => {
    const key = 'probe/secret-test.txt';
    await mkdir(join(dir, 'storage', 'probe'), { recursive: true });
    await writeFile(join(dir, 'storage', key), 'hello');
    const expires = Math.floor(Date.now() / 1000) + 10 * 365 * 86_400;
    const url = (secret: string) =>
      `${api.url}/files/${key}?expires=${expires}&signature=${createHmac('sha256', secret).update(`${key}\n${expires}`).digest('base64url')}`;
    for (const published of [`files:${PUBLISHED}`, PUBLISHED]) expect((await fetch(url(published))).status).toBe(403);
    const { FILES_SIGNING_SECRET } = JSON.parse(await readFile(join(dir, '.dawg-secrets'), 'utf8'));
    const genuine = await fetch(url(FILES_SIGNING_SECRET));
    expect(genuine.status).toBe(200);
    expect(await genuine.text()).toBe('hello');
  });

  it('keeps tokens valid across a restart (the file is read, not regenerated)', async () => {
    const before = await readFile(join(dir, '.dawg-secrets'), 'utf8');
    expect(await api.kill('SIGTERM')).toBe(0);
    api = await spawnApi(env);
    expect(await readFile(join(dir, '.dawg-secrets'), 'utf8')).toBe(before);
    expect(api.output()).toContain('signing secrets: read the JWT_SECRET and FILES_SIGNING_SECRET from');
    const me = await gql(api.graphqlUrl, ME, {}, victim.token);
    expect(me.data?.me.id).toBe(victim.id);
  }, 60_000);

  it('the worker reads the same file', async () => {
    const worker = await spawnWorker(env);
    try {
      expect(worker.output()).toContain(
        `signing secrets: read the JWT_SECRET and FILES_SIGNING_SECRET from ${join(dir, '.dawg-secrets')}`,
      );
    } finally {
      await worker.kill('SIGTERM');
    }
  }, 60_000);

  it('tightens a group- or world-readable file to 0600, and fills only what the environment left unset', async () => {
    const file = join(dir, 'loose', '.dawg-secrets');
    await mkdir(join(dir, 'loose'));
    const stored = { JWT_SECRET: 'j'.repeat(40), FILES_SIGNING_SECRET: 'f'.repeat(40) };
    await writeFile(file, JSON.stringify(stored), { mode: 0o644 });
    const { config, message } = resolveSecrets(
      parseConfig(testEnv({ JWT_SECRET: 'e'.repeat(40), FILES_SIGNING_SECRET: '', SECRETS_FILE: file })),
    );
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(config.JWT_SECRET).toBe('e'.repeat(40));
    expect(config.FILES_SIGNING_SECRET).toBe('f'.repeat(40));
    expect(message).toContain('read the FILES_SIGNING_SECRET from');
  });

  it('refuses to start in production without both secrets, naming each', () => {
    for (const missing of ['JWT_SECRET', 'FILES_SIGNING_SECRET'])
      expect(() =>
        resolveSecrets(parseConfig(testEnv({ NODE_ENV: 'production', [missing]: '', SECRETS_FILE: join(dir, 'prod') }))),
      ).toThrow(`${missing}: is required when NODE_ENV=production`);
  });
});
