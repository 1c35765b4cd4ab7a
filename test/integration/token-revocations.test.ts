/**
 * TokenRevocations against Redis and PostgreSQL: the checks asked for in one turn share one read, and
 * each still gets its own answer (logged out, logged out everywhere, no such user, no copy in Redis).
 */
import { randomUUID } from 'node:crypto';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { Cluster } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPrisma } from '../../src/db/client.js';
import { TokenRevocations } from '../../src/modules/auth/revocations.js';
import { createRedis, type Redis, redisTarget } from '../../src/redis.js';
import { type RunningApp, startApp, testConfig } from '../helpers/harness.js';

let api: RunningApp;
let redis: Redis;
const prefix = `revocations-${randomUUID()}:`;
beforeAll(async () => {
  api = await startApp();
  redis = createRedis(redisTarget(testConfig()), pino({ level: 'silent' }), 'test-revocations');
});
afterAll(async () => {
  redis?.disconnect();
  await api?.stop();
});

const newUser = async () =>
  (await api.app.prisma.user.create({ data: { email: `revocations-${randomUUID()}@example.test`, passwordHash: 'x' } })).id;

/** A promise held until `release()`: a read kept under way while a test acts. */
function gate(): { held: Promise<void>; release: () => void } {
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { held, release };
}

/** Watches the user-version loads (PostgreSQL reads, shared while under way) of `revocations`. */
const versionLoads = (revocations: TokenRevocations) =>
  vi.spyOn((revocations as unknown as { versions: { load: (id: string) => unknown } }).versions, 'load');

describe('TokenRevocations', () => {
  it('answers 40 checks asked for in one turn with one Redis read, each with its own answer', async () => {
    const revocations = new TokenRevocations({ redis, prisma: api.app.prisma, prefix });
    const users = await Promise.all(Array.from({ length: 10 }, newUser));
    const [loggedOut, everywhere] = users as [string, string];
    const jti = (i: number) => `token-${i}`;
    // Versions copied to Redis first (a check reads PostgreSQL only for a user Redis has no copy of).
    await Promise.all(users.map((u) => revocations.check(u, null)));
    await revocations.revoke(loggedOut, jti(0), Date.now() + 60_000);
    expect(await revocations.bump(everywhere)).toBe(1);

    const mget = vi.spyOn(redis, 'mget');
    const findMany = vi.spyOn(api.app.prisma.user, 'findMany');
    const nobody = randomUUID();
    const asked = [
      ...users.map((u, i) => ({ userId: u, jti: jti(i) })),
      ...users.map((u, i) => ({ userId: u, jti: jti(i + 100) })),
      ...users.map((u) => ({ userId: u, jti: null })),
      ...Array.from({ length: 10 }, () => ({ userId: nobody, jti: 'x' })),
    ];
    const answers = await Promise.all(asked.map(({ userId, jti }) => revocations.check(userId, jti)));
    const reads = mget.mock.calls.length;
    mget.mockRestore();
    const pgReads = findMany.mock.calls.length;
    findMany.mockRestore();

    // One MGET on one server; on a Redis Cluster one per user (a user's keys share a slot, users do not).
    expect(reads).toBe(redis instanceof Cluster ? users.length + 1 : 1);
    // Only the unknown user was read from PostgreSQL, once for its ten checks.
    expect(pgReads).toBe(1);
    asked.forEach(({ userId, jti: id }, i) => {
      const version = userId === nobody ? null : userId === everywhere ? 1 : 0;
      const revoked = userId === loggedOut && id === jti(0);
      expect(answers[i], `${userId} ${id}`).toEqual({ version, revoked });
    });
  });

  it("shares a user's PostgreSQL read among checks asked while it is under way; a check after it reads afresh", async () => {
    const revocations = new TokenRevocations({ redis, prisma: api.app.prisma, prefix });
    const nobody = randomUUID();
    // The read is held until released, so the second check surely comes while it is under way.
    const users = api.app.prisma.user;
    const read = users.findMany.bind(users);
    const { held, release } = gate();
    const findMany = vi.spyOn(users, 'findMany').mockImplementation(((args: never) => held.then(() => read(args))) as never);
    try {
      const first = revocations.check(nobody, 'a');
      await vi.waitFor(() => expect(findMany).toHaveBeenCalledTimes(1));
      const versions = versionLoads(revocations);
      const second = revocations.check(nobody, 'b'); // another turn: its own Redis read, then the shared one
      await vi.waitFor(() => expect(versions).toHaveBeenCalledTimes(1));
      release();
      expect(await Promise.all([first, second])).toEqual([
        { version: null, revoked: false },
        { version: null, revoked: false },
      ]);
      expect(findMany).toHaveBeenCalledTimes(1);
      expect(await revocations.check(nobody, 'c')).toEqual({ version: null, revoked: false });
      expect(findMany).toHaveBeenCalledTimes(2);
    } finally {
      findMany.mockRestore();
    }
  });

  it('a check after logOutEverywhere does not share a version read that began before it', async () => {
    const revocations = new TokenRevocations({ redis, prisma: api.app.prisma, prefix });
    const user = await newUser();
    const users = api.app.prisma.user;
    const read = users.findMany.bind(users);
    const { held, release } = gate();
    let readBefore = false;
    // The first read gets its answer from PostgreSQL before the bump, and is held until released.
    const findMany = vi.spyOn(users, 'findMany').mockImplementationOnce(((args: never) =>
      read(args).then((rows) => {
        readBefore = true;
        return held.then(() => rows);
      })) as never);
    try {
      const before = revocations.check(user, null);
      await vi.waitFor(() => expect(readBefore).toBe(true));
      expect(await revocations.bump(user)).toBe(1);
      // The bump's copy in Redis lost (Redis away as it was written): the next check reads PostgreSQL.
      await redis.del(`${prefix}tokver:{${user}}`);
      const versions = versionLoads(revocations);
      const after = revocations.check(user, null);
      await vi.waitFor(() => expect(versions).toHaveBeenCalledTimes(1));
      release();
      expect(await before).toEqual({ version: 0, revoked: false }); // asked before the bump
      expect(await after).toEqual({ version: 1, revoked: false });
      expect(findMany).toHaveBeenCalledTimes(2);
      expect(await redis.get(`${prefix}tokver:{${user}}`)).toBe('1');
    } finally {
      findMany.mockRestore();
    }
  });

  it('reads a version Redis no longer holds from PostgreSQL and copies it back', async () => {
    const revocations = new TokenRevocations({ redis, prisma: api.app.prisma, prefix });
    const [a, b] = [await newUser(), await newUser()];
    await revocations.bump(b);
    // One key per DEL: on a Redis Cluster the two users' keys are on different slots.
    await Promise.all([a, b].map((u) => redis.del(`${prefix}tokver:{${u}}`)));
    const [ra, rb] = await Promise.all([revocations.check(a, 'j'), revocations.check(b, 'j')]);
    expect(ra).toEqual({ version: 0, revoked: false });
    expect(rb).toEqual({ version: 1, revoked: false });
    expect(await redis.get(`${prefix}tokver:{${b}}`)).toBe('1');
  });

  it('with Redis unreachable, still reads every version from PostgreSQL in one query', async () => {
    const away = createRedis('redis://127.0.0.1:1', pino({ level: 'silent' }), 'test-away', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    try {
      const revocations = new TokenRevocations({ redis: away, prisma: api.app.prisma, prefix });
      const [a, b] = [await newUser(), await newUser()];
      await api.app.prisma.user.update({ where: { id: b }, data: { tokenVersion: 3 } });
      const findMany = vi.spyOn(api.app.prisma.user, 'findMany');
      const answers = await Promise.all([
        revocations.check(a, 'j'),
        revocations.check(b, null),
        revocations.check(randomUUID(), 'j'),
      ]);
      const pgReads = findMany.mock.calls.length;
      findMany.mockRestore();
      expect(pgReads).toBe(1);
      expect(answers).toEqual([
        { version: 0, revoked: false },
        { version: 3, revoked: false },
        { version: null, revoked: false },
      ]);
    } finally {
      away.disconnect();
    }
  });

  it('with PostgreSQL unreachable, answers the checks Redis answered and fails only those that needed it', async () => {
    const down = createPrisma({ DATABASE_URL: 'postgresql://dawg@127.0.0.1:1/dawg', DATABASE_POOL_SIZE: 1 });
    try {
      const revocations = new TokenRevocations({ redis, prisma: down, prefix });
      const [cached, uncached] = [randomUUID(), randomUUID()];
      await redis.set(`${prefix}tokver:{${cached}}`, '2', 'EX', 60);
      await redis.set(`${prefix}revoked:{${cached}}:gone`, '1', 'EX', 60);
      const [kept, revoked, failed] = await Promise.allSettled([
        revocations.check(cached, 'kept'),
        revocations.check(cached, 'gone'),
        revocations.check(uncached, 'j'),
      ]);
      expect(kept).toEqual({ status: 'fulfilled', value: { version: 2, revoked: false } });
      expect(revoked).toEqual({ status: 'fulfilled', value: { version: 2, revoked: true } });
      // The reason is PostgreSQL's, not a batch's: Prisma's "database not reachable".
      expect(failed).toMatchObject({ status: 'rejected', reason: { code: 'P1001' } });
    } finally {
      await down.$disconnect();
    }
  });

  it('answers the checks Redis answered without waiting for a PostgreSQL that does not answer', async () => {
    // A server that takes connections and never says a word: the PostgreSQL read hangs.
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const hung = createPrisma({ DATABASE_URL: `postgresql://dawg@127.0.0.1:${port}/dawg`, DATABASE_POOL_SIZE: 1 });
    try {
      const revocations = new TokenRevocations({ redis, prisma: hung, prefix });
      const [cached, uncached] = [randomUUID(), randomUUID()];
      await redis.set(`${prefix}tokver:{${cached}}`, '5', 'EX', 60);
      const waiting = revocations.check(uncached, 'j');
      waiting.catch(() => {});
      const answered = await Promise.race([
        revocations.check(cached, 'j'),
        new Promise((r) => setTimeout(() => r('still waiting'), 1000)),
      ]);
      expect(answered).toEqual({ version: 5, revoked: false });
      expect(
        await Promise.race([
          waiting.then(
            () => 'answered',
            () => 'failed',
          ),
          new Promise((r) => setTimeout(() => r('pending'), 50)),
        ]),
      ).toBe('pending');
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
      await hung.$disconnect().catch(() => {});
    }
  });
});
