/**
 * Presence against Redis: each entry is renewed once per period, a slice at a time, one ZADD per
 * project for a slice's entries in it, rather than every entry at once.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Presence } from '../../src/modules/projects/presence.js';
import { PubSub } from '../../src/pubsub.js';
import { createRedis, type Redis, redisTarget } from '../../src/redis.js';
import { testConfig } from '../helpers/harness.js';

let redis: Redis;
const log = pino({ level: 'silent' });
beforeAll(() => {
  redis = createRedis(redisTarget(testConfig()), log, 'test-presence');
});
afterAll(() => redis?.disconnect());

describe('Presence', () => {
  it('renews every entry once per period, a slice at a time, one ZADD per project and slice', async () => {
    const prefix = `presence-${randomUUID()}:`;
    // Announcements go nowhere here: only the renewals are watched.
    const pubsub = { publish: async () => {} } as unknown as PubSub;
    const refreshMs = 1_000;
    const presence = new Presence({ redis, pubsub, prefix, log, refreshMs });
    const projects = [randomUUID(), randomUUID(), randomUUID()];
    const leaves = [];
    for (let i = 0; i < 300; i++) leaves.push(await presence.join(projects[i % 3] as string, randomUUID()));
    const scores = async () =>
      (await Promise.all(projects.map((p) => redis.zrange(`${prefix}presence:${p}`, 0, -1, 'WITHSCORES')))).flatMap((flat) =>
        flat.filter((_, i) => i % 2 === 1).map(Number),
      );
    const joined = await scores();
    expect(joined).toHaveLength(300);

    const zadd = vi.spyOn(redis, 'zadd');
    await new Promise((resolve) => setTimeout(resolve, refreshMs + 300));
    const calls = [...zadd.mock.calls];
    zadd.mockRestore();
    const renewed = await scores();
    // Every entry was renewed past where its join put it.
    expect(Math.min(...renewed)).toBeGreaterThan(Math.max(...joined));
    // In slices (10 of them for a 1 s period): no ZADD carries more than a slice's entries of one
    // project, and each entry went once or twice (a slice may come up again within the 1.3 s).
    const members = calls.map((call) => (call.length - 1) / 2);
    expect(Math.max(...members)).toBeLessThanOrEqual(Math.ceil(300 / 10 / 3) + 1);
    const total = members.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(300);
    expect(total).toBeLessThanOrEqual(2 * 300);
    expect(calls.length).toBeLessThanOrEqual(2 * 10 * 3);

    await Promise.all(leaves.map((leave) => leave()));
    expect(await scores()).toHaveLength(0);
    presence.stop();
  });

  it('renews what is open after a stop and a new join, and a join that failed leaves nothing to renew', async () => {
    const prefix = `presence-${randomUUID()}:`;
    const pubsub = { publish: async () => {} } as unknown as PubSub;
    const presence = new Presence({ redis, pubsub, prefix, log, refreshMs: 300 });
    const project = randomUUID();
    const key = `${prefix}presence:${project}`;
    const scoreOf = async (user: string) => {
      const flat = await redis.zrange(key, 0, -1, 'WITHSCORES');
      const at = flat.findIndex((m) => m.startsWith(`${user}|`));
      return at < 0 ? null : Number(flat[at + 1]);
    };
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const leaveA = await presence.join(project, a);
    presence.stop(); // as at a shutdown that did not happen: a's entry is still open
    const leaveB = await presence.join(project, b);
    const joinedA = await scoreOf(a);
    const joinedB = await scoreOf(b);
    const zadd = vi.spyOn(redis, 'zadd').mockRejectedValueOnce(new Error('Redis away'));
    await expect(presence.join(project, c)).rejects.toThrow('Redis away');
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The first call is the failed join's own.
    const renewedMembers = zadd.mock.calls.slice(1).flatMap((call) => call.filter((_, i) => i >= 2 && i % 2 === 0));
    zadd.mockRestore();
    expect(await scoreOf(a)).toBeGreaterThan(joinedA as number);
    expect(await scoreOf(b)).toBeGreaterThan(joinedB as number);
    expect(await scoreOf(c)).toBeNull();
    expect(renewedMembers.some((m) => String(m).startsWith(`${c}|`))).toBe(false);
    await leaveA();
    await leaveB();
    expect(await redis.zcard(key)).toBe(0);
    // The last leave stopped the rounds; a join after it starts them again.
    const leaveC = await presence.join(project, c);
    const joinedC = await scoreOf(c);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await scoreOf(c)).toBeGreaterThan(joinedC as number);
    await leaveC();
    presence.stop();
  });
});
