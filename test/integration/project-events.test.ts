/**
 * projectEvents (issue 12, live sync): members on three api processes see each other's changes
 * and presence as they happen; a client that vanishes, or an instance that died, drops out of the
 * presence list.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { transition } from '../../src/modules/generations/generation-state.js';
import { collect, gql, type RunningApp, signUp, startApp, type TestUser, until, wsClient, rawId } from '../helpers/harness.js';
import { type ApiProcess, spawnApi } from '../helpers/process.js';
import { initSocket } from '../helpers/ws.js';

const EVENTS = `subscription($p: ID!) { projectEvents(projectId: $p) {
  kind trackId userId by { email } present { email }
  track { name gainDb version } member { role user { email } } project { name version }
  generation { percent stage generation { status } }
} }`;

interface Event {
  projectEvents: {
    kind: string;
    trackId: string | null;
    userId: string | null;
    by: { email: string } | null;
    present: { email: string }[] | null;
    track: { name: string; gainDb: number; version: number } | null;
    member: { role: string; user: { email: string } } | null;
    project: { name: string; version: number } | null;
    generation: { percent: number; stage: string | null; generation: { status: string } } | null;
  };
}

let one: RunningApp;
let two: ApiProcess;
let three: ApiProcess;
let a: TestUser;
let b: TestUser;
let c: TestUser;
let projectId: string;

beforeAll(async () => {
  const env = { REDIS_PREFIX: `${inject('redisPrefix')}events${randomBytes(3).toString('hex')}:` };
  // Three api processes: one in this test's process (for its database and presence handles), two spawned.
  [one, two, three] = await Promise.all([startApp(env), spawnApi(env), spawnApi(env)]);
  [a, b, c] = (await Promise.all([1, 2, 3].map(() => signUp(one.graphqlUrl)))) as [TestUser, TestUser, TestUser];
  projectId = (await gql(one.graphqlUrl, 'mutation { createProject(name: "live", bpm: 90) { id } }', {}, a.token)).data
    .createProject.id;
  for (const [u, role] of [
    [b, 'EDITOR'],
    [c, 'VIEWER'],
  ] as const)
    await gql(
      one.graphqlUrl,
      'mutation($p: ID!, $e: String!, $r: ProjectRole!) { addProjectMember(projectId: $p, email: $e, role: $r) { role } }',
      { p: projectId, e: u.email, r: role },
      a.token,
    );
});
afterAll(async () => {
  await Promise.all([one?.stop(), two?.kill(), three?.kill()]);
});

/** The next event of `kind` after the `seen` first ones. */
async function next(sub: { events: Event[] }, kind: string, seen: number, timeoutMs = 5_000): Promise<Event['projectEvents']> {
  let found: Event | undefined;
  await until(() => {
    found = sub.events.slice(seen).find((e) => e.projectEvents.kind === kind);
    return !!found;
  }, timeoutMs);
  return (found as Event).projectEvents;
}

const emails = (e: Event['projectEvents']) => (e.present ?? []).map((u) => u.email).sort();

/** A subscription's error as `collect` holds it (an Error, GraphQL errors, or the socket's close event), readable in a failure. */
const describeError = (err: unknown): unknown => {
  if (err instanceof Error) return err.message;
  if (Array.isArray(err)) return err.map((e) => (e as { message?: string }).message ?? e);
  const { code, reason } = err as { code?: number; reason?: string };
  return { code, reason };
};

describe('projectEvents across three instances', () => {
  it("delivers presence, track, project, member and generation events to every member's instance", async () => {
    // A on instance one; B and C on instance two and three.
    const wa = wsClient(one.wsUrl, a.token);
    const wb = wsClient(two.wsUrl, b.token);
    const wc = wsClient(three.wsUrl, c.token);
    const sa = collect<Event>(wa.client, EVENTS, { p: projectId });
    expect(emails(await next(sa, 'PRESENCE', 0))).toEqual([a.email]);
    const sb = collect<Event>(wb.client, EVENTS, { p: projectId });
    expect(emails(await next(sb, 'PRESENCE', 0))).toEqual([a.email, b.email].sort());
    const sc = collect<Event>(wc.client, EVENTS, { p: projectId });
    expect(emails(await next(sc, 'PRESENCE', 0))).toEqual([a.email, b.email, c.email].sort());
    // A hears the others arrive.
    await until(() => sa.events.some((e) => emails(e.projectEvents).length === 3));

    // B (EDITOR, instance two) adds a track from a generation of the project; A and C see it.
    const generation = await one.app.prisma.generation.create({
      data: { userId: rawId(b.id), projectId: rawId(projectId), type: 'BEAT', status: 'COMPLETED', input: {} },
    });
    const seen = [sa.events.length, sc.events.length];
    const added = await gql(
      two.graphqlUrl,
      'mutation($p: ID!, $g: ID!) { addTrack(projectId: $p, generationId: $g, name: "drums") { id version } }',
      { p: projectId, g: generation.id },
      b.token,
    );
    const trackId = added.data.addTrack.id as string;
    for (const [sub, n] of [
      [sa, seen[0]],
      [sc, seen[1]],
    ] as const) {
      const e = await next(sub, 'TRACK_ADDED', n as number);
      expect(e).toMatchObject({ trackId, by: { email: b.email }, track: { name: 'drums' } });
    }
    // A (instance one) changes it; B sees the new state.
    const before = sb.events.length;
    await gql(one.graphqlUrl, 'mutation($t: ID!) { updateTrack(id: $t, gainDb: -3) { id } }', { t: trackId }, a.token);
    expect(await next(sb, 'TRACK_UPDATED', before)).toMatchObject({
      trackId,
      track: { gainDb: -3, version: 1 },
      by: { email: a.email },
    });
    await gql(one.graphqlUrl, 'mutation($p: ID!) { updateProject(id: $p, name: "renamed") { id } }', { p: projectId }, a.token);
    expect(await next(sb, 'PROJECT_UPDATED', before)).toMatchObject({ project: { name: 'renamed' } });
    await gql(two.graphqlUrl, 'mutation($t: ID!) { removeTrack(id: $t) }', { t: trackId }, b.token);
    expect(await next(sc, 'TRACK_REMOVED', seen[1] as number)).toMatchObject({ trackId, track: null });

    // A generation of the project progresses (as the worker reports it): every member hears it.
    const job = await one.app.prisma.generation.create({
      data: { userId: rawId(a.id), projectId: rawId(projectId), type: 'BEAT', status: 'PENDING', input: {} },
    });
    const atC = sc.events.length;
    await transition({ prisma: one.app.prisma, pubsub: one.app.services.pubsub }, job.id, {
      status: 'PROCESSING',
      stage: 'composing',
      progress: 10,
    });
    expect(await next(sc, 'GENERATION_PROGRESS', atC)).toMatchObject({
      generation: { percent: 10, stage: 'composing', generation: { status: 'PROCESSING' } },
    });
    // Not left PROCESSING: the workers of other test files reconcile such rows of the shared database.
    await one.app.prisma.generation.update({ where: { id: job.id }, data: { status: 'CANCELLED' } });

    // Members: a newcomer joins, changes role, is removed; everyone sees each step.
    const d = await signUp(one.graphqlUrl);
    const atB = sb.events.length;
    await gql(
      one.graphqlUrl,
      'mutation($p: ID!, $e: String!) { addProjectMember(projectId: $p, email: $e, role: VIEWER) { role } }',
      { p: projectId, e: d.email },
      a.token,
    );
    expect(await next(sb, 'MEMBER_JOINED', atB)).toMatchObject({ member: { role: 'VIEWER', user: { email: d.email } } });
    await gql(
      one.graphqlUrl,
      'mutation($p: ID!, $u: ID!) { updateProjectMember(projectId: $p, userId: $u, role: EDITOR) { role } }',
      { p: projectId, u: d.id },
      a.token,
    );
    expect(await next(sb, 'MEMBER_ROLE_CHANGED', atB)).toMatchObject({ member: { role: 'EDITOR' } });
    await gql(
      one.graphqlUrl,
      'mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) { id } }',
      { p: projectId, u: d.id },
      a.token,
    );
    expect(await next(sb, 'MEMBER_LEFT', atB)).toMatchObject({ userId: d.id, member: null });

    // C leaves the page: the others see the presence list without C.
    const left = sa.events.length;
    sc.dispose();
    await until(() =>
      sa.events.slice(left).some((e) => e.projectEvents.kind === 'PRESENCE' && emails(e.projectEvents).length === 2),
    );
    await Promise.all([wa.client.dispose(), wb.client.dispose(), wc.client.dispose()]);
  });

  it('drops a client that vanished without a close, and the entries of an instance that died', async () => {
    const key = `${one.app.services.pubsub.channel('projectEvent', 'x').split('project:')[0]}presence:${rawId(projectId)}`;
    // The last test's clients have left: an entry of B's still live would make A's first list name B
    // before B's new socket has joined (its leave then announced before the mark below). Members are
    // "<user id>|<entry>", scored with their expiry.
    const presenceNow = async () => ({ presence: await one.app.redis.zrange(key, 0, -1, 'WITHSCORES'), now: Date.now() });
    await until(async () => (await one.app.redis.zcount(key, Date.now(), '+inf')) === 0, 12_000, presenceNow);
    const wa = wsClient(one.wsUrl, a.token);
    const sa = collect<Event>(wa.client, EVENTS, { p: projectId });
    await next(sa, 'PRESENCE', 0);
    // B's socket on instance two goes away without a close frame (its TCP connection is destroyed),
    // once A has heard B's own join.
    const beforeB = sa.events.length;
    const s = await initSocket(two.wsUrl, b.token);
    s.send({ id: '1', type: 'subscribe', payload: { query: EVENTS, variables: { p: projectId } } });
    await until(() => sa.events.slice(beforeB).some((e) => emails(e.projectEvents).includes(b.email)));
    const mark = sa.events.length;
    (s.socket as unknown as { _socket: { destroy(): void } })._socket.destroy();
    // Seen closed by instance two at once (the TCP connection ends), or found dead by the keepalive (a
    // ping every WS_KEEPALIVE_MS, 2 s here; no pong by the next), then published through Redis: about
    // 4 s at most, and more on a loaded CI machine or through a Sentinel failover of connections (5 s
    // was once missed there).
    await until(
      () => sa.events.slice(mark).some((e) => e.projectEvents.kind === 'PRESENCE' && !emails(e.projectEvents).includes(b.email)),
      12_000,
      // What A heard since B vanished, whether A's own socket was closed (and how) or its subscription
      // failed, and who is in the presence set now.
      async () => ({
        b: rawId(b.id),
        heard: sa.events.slice(mark).map((e) => [e.projectEvents.kind, emails(e.projectEvents)]),
        aClosed: await Promise.race([wa.closed, 'open']),
        aErrors: sa.errors.map(describeError),
        ...(await presenceNow()),
      }),
    );

    // An instance that died left an entry behind: it expired 1 ms ago, and the next renewal drops it.
    await one.app.redis.zadd(key, Date.now() - 1, `${rawId(c.id)}|dead-instance`);
    const before = sa.events.length;
    await one.app.services.presence.refresh();
    const after = await next(sa, 'PRESENCE', before);
    expect(emails(after)).toEqual([a.email]);
    expect(await one.app.redis.zcard(key)).toBe(1);
    await wa.client.dispose();
    // Closing the last subscription removes its entry.
    await until(async () => (await one.app.redis.zcard(key)) === 0);
  });
});
