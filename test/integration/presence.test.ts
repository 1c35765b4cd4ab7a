/**
 * Presence against Redis: each entry is renewed once per period, a slice at a time, one ZADD per
 * project for a slice's entries in it, rather than every entry at once.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PRESENCE_TTL_MS, Presence } from '../../src/modules/projects/presence.js';
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
    expect(Math.max(...renewed)).toBeLessThanOrEqual(Date.now() + PRESENCE_TTL_MS);
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
});
