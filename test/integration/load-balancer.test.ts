/**
 * Many processes behind a real load balancer (issue 13): `startLocalCluster` (npm run cluster:local)
 * runs 3 api and 2 worker processes behind HAProxy. Clients spread over the apis each receive every
 * event of a beat made through the balancer; killing an api with SIGKILL loses no request that
 * HAProxy could send elsewhere.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { type LocalCluster, startLocalCluster } from '../../scripts/topology/cluster-local.js';
import { createOwnDatabase } from '../helpers/database.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { collect, freePort, gql, signUp, testEnv, type TestUser, wsClient } from '../helpers/harness.js';
import { sample, scrape } from '../helpers/metrics.js';
import { followReply } from '../helpers/follow.js';

const SEND = 'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { assistantMessage { id } } }';

describe('behind HAProxy', () => {
  let cluster: LocalCluster;
  let database: Awaited<ReturnType<typeof createOwnDatabase>>;
  let storageDir: string;
  let user: TestUser;
  let graphqlUrl: string;

  beforeAll(async () => {
    database = await createOwnDatabase();
    storageDir = await mkdtemp(join(tmpdir(), 'dawg-lb-'));
    // Three consecutive free ports after the balancer's: ports below 20000 that the OS does not hand out.
    const port = 10_000 + ((await freePort()) % 9_000);
    cluster = await startLocalCluster({
      port,
      env: testEnv({
        DATABASE_URL: database.url,
        STORAGE_DIR: storageDir,
        REDIS_PREFIX: `${inject('redisPrefix')}lb${randomBytes(3).toString('hex')}:`,
        LOG_LEVEL: 'info',
        // Replies of ~15 chunks over ~1.5 s, 50 at once; a killed worker's job is taken over within seconds.
        CHAT_CHUNK_DELAY_MS: '100',
        CHAT_FRAME_MS: '0',
        CHAT_MAX_CONCURRENT_REPLIES: '60',
        WORKER_LOCK_MS: '3000',
      }),
    });
    graphqlUrl = `${cluster.url}/graphql`;
    user = await signUp(graphqlUrl);
  }, 180_000);
  /** `n` beats of 20 s queued through the balancer; their ids. */
  async function queueBeats(n: number): Promise<string[]> {
    const beats: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await gql(
        graphqlUrl,
        'mutation { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", durationSec: 20 }) { id } }',
        {},
        user.token,
      );
      beats.push(res.data.generateBeat.id);
    }
    return beats;
  }

  afterAll(async () => {
    await cluster?.stop();
    await database?.drop();
    await rm(storageDir, { recursive: true, force: true });
  });

  it('spreads six sockets over the three apis, and each receives every event of a beat made through the balancer', async () => {
    const clients = Array.from({ length: 6 }, () => wsClient(`${cluster.url.replace(/^http/, 'ws')}/graphql`, user.token));
    const subs = clients.map((c) =>
      collect(c.client, 'subscription { myGenerations { percent stage generation { id status } } }'),
    );
    // A series on each api's /metrics (0 where it has none yet).
    const perApi = (name: string, labels: Record<string, string> = {}) =>
      Promise.all(cluster.apis.map(async (a) => sample(await scrape(`http://127.0.0.1:${a.port}`), name, labels) ?? 0));
    // Every api holds some of the sockets.
    const sockets = () => perApi('dawg_ws_connections');
    for (let i = 0; i < 50 && (await sockets()).some((n) => n === 0); i++) await new Promise((r) => setTimeout(r, 100));
    const spread = await sockets();
    expect(spread, `sockets per api: ${spread}`).toSatisfy((counts: number[]) => counts.every((n) => n >= 1));
    // Connected is not subscribed: wait until the six subscriptions are set up across the apis (a fixed
    // 500 ms once left one socket without the first event on a loaded CI machine), then a moment for
    // their Redis SUBSCRIBE to be acknowledged.
    const active = async () =>
      (await perApi('dawg_ws_active_subscriptions', { field: 'myGenerations' })).reduce((x, y) => x + y, 0);
    for (let i = 0; i < 100 && (await active()) < 6; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await active()).toBe(6);
    await new Promise((r) => setTimeout(r, 300));

    const res = await gql(
      graphqlUrl,
      'mutation { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", durationSec: 5 }) { id } }',
      {},
      user.token,
    );
    expect(res.errors).toBeUndefined();
    const id = res.data.generateBeat.id as string;
    const stagesOf = (events: Record<string, unknown>[]) =>
      events
        .map((e) => (e as { myGenerations: { stage: string; generation: { id: string } } }).myGenerations)
        .filter((g) => g.generation.id === id)
        .map((g) => g.stage);
    for (let i = 0; i < 300 && !subs.every((s) => stagesOf(s.events).includes('done')); i++)
      await new Promise((r) => setTimeout(r, 100));
    const seen = subs.map((s) => stagesOf(s.events));
    // Each socket saw the same events, through to the end.
    for (const stages of seen) expect(stages).toEqual(seen[0]);
    expect(seen[0]).toContain('done');
    expect((seen[0] as string[]).length).toBeGreaterThanOrEqual(5);
    for (const c of clients) c.client.dispose();
  }, 60_000);

  it('restarts every api, one by one, under requests and subscriptions: 0 failed requests, and every follower sees its beat end', async () => {
    const beats = await queueBeats(6);
    // Followers that reconnect (through the balancer, to whichever api is up) and resubscribe.
    const followers = Array.from({ length: 3 }, () => {
      const statuses: string[] = [];
      const client = createClient({
        url: `${cluster.url.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 30,
        shouldRetry: () => true,
        retryWait: () => new Promise((r) => setTimeout(r, 200)),
        connectionParams: { authorization: `Bearer ${user.token}` },
      });
      client.subscribe(
        {
          query: 'subscription($id: ID!) { generationProgress(id: $id) { generation { status } } }',
          variables: { id: beats.at(-1) },
        },
        {
          next: (r) =>
            void statuses.push(
              (r.data as { generationProgress: { generation: { status: string } } }).generationProgress.generation.status,
            ),
          error: () => {},
          complete: () => {},
        },
      );
      return { client, statuses };
    });
    let running = true;
    const outcomes: string[] = [];
    const load = (async () => {
      while (running) {
        outcomes.push(
          await gql(graphqlUrl, '{ me { id } }', {}, user.token).then(
            (r) => (r.data?.me?.id === user.id ? 'ok' : `error ${JSON.stringify(r.errors)}`),
            (err: Error) => `failed ${err.message}`,
          ),
        );
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    for (let i = 0; i < cluster.apis.length; i++) await cluster.restartApi(i);
    running = false;
    await load;
    console.log(
      `rolling restart of ${cluster.apis.length} apis: ${outcomes.length} requests, ${outcomes.filter((o) => o !== 'ok').length} failed`,
    );
    expect(outcomes.length).toBeGreaterThan(50);
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    const states = await Promise.all(
      beats.map(async (id) => {
        for (let i = 0; i < 600; i++) {
          const s = (await gql(graphqlUrl, 'query($id: ID!) { generation(id: $id) { status } }', { id }, user.token)).data
            ?.generation?.status;
          if (s === 'COMPLETED' || s === 'FAILED') return s;
          await new Promise((r) => setTimeout(r, 100));
        }
        return 'unfinished';
      }),
    );
    expect(states).toEqual(beats.map(() => 'COMPLETED'));
    for (let i = 0; i < 100 && !followers.every((f) => f.statuses.includes('COMPLETED')); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(followers.map((f) => f.statuses.at(-1))).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    for (const f of followers) await f.client.dispose();
  }, 180_000);

  it('kill -9 of an api during 50 streaming replies: followers resume through the balancer, 0 chunks missing or twice', async () => {
    const wsUrl = `${cluster.url.replace(/^http/, 'ws')}/graphql`;
    const sent = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const c = (await gql(graphqlUrl, `mutation { createConversation(title: "lb ${i}") { id } }`, {}, user.token)).data
          .createConversation.id as string;
        const res = await gql(graphqlUrl, SEND, { c, t: 'hey, what can you do?' }, user.token);
        expect(res.errors).toBeUndefined();
        return { c, m: res.data.sendMessage.assistantMessage.id as string };
      }),
    );
    const following = sent.map(({ c, m }) => followReply(wsUrl, user.token, c, m, 90_000));
    await new Promise((r) => setTimeout(r, 600));
    const victim = cluster.apis[1];
    expect(await victim?.process.kill('SIGKILL')).toBeNull();
    const replies = await Promise.all(following);
    const statuses = replies.map((r) => r.final?.status);
    const orphans = statuses.filter((s) => s === 'FAILED').length;
    console.info(
      `50 replies, api killed mid-stream: ${statuses.filter((s) => s === 'COMPLETE').length} COMPLETE, ${orphans} FAILED (streamed by the killed api), ` +
        `${replies.filter((r) => r.reconnects > 0).length} followers resumed, ${replies.reduce((n, r) => n + r.missing, 0)} chunks missing, ` +
        `${replies.reduce((n, r) => n + r.duplicates, 0)} received twice`,
    );
    for (const r of replies) {
      expect(r).toMatchObject({ missing: 0, duplicates: 0 });
      expect(r.text).toBe(r.final?.content);
    }
    // Replies the killed api was streaming end FAILED with a reason (what was said is kept); the rest complete.
    expect(statuses.every((s) => s === 'COMPLETE' || s === 'FAILED')).toBe(true);
    expect(replies.filter((r) => r.reconnects > 0).length).toBeGreaterThan(0);
    await cluster.restartApi(1);
  }, 120_000);

  it('kill -9 of a worker mid-job: its beats complete on the other worker', async () => {
    const beats = await queueBeats(6);
    const status = async (id: string) =>
      (await gql(graphqlUrl, 'query($id: ID!) { generation(id: $id) { status } }', { id }, user.token)).data?.generation?.status;
    for (let i = 0; i < 200 && !(await Promise.all(beats.map(status))).includes('PROCESSING'); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(await cluster.workers[0]?.kill('SIGKILL')).toBeNull();
    const ended: string[] = [];
    for (const id of beats) {
      let s = await status(id);
      for (let i = 0; i < 600 && !['COMPLETED', 'FAILED', 'CANCELLED'].includes(s); i++) {
        await new Promise((r) => setTimeout(r, 100));
        s = await status(id);
      }
      ended.push(s);
    }
    expect(ended).toEqual(beats.map(() => 'COMPLETED'));
  }, 120_000);

  it('loses no request when an api is killed: HAProxy sends them to the others', async () => {
    const victim = cluster.apis[0];
    expect(await victim?.process.kill('SIGKILL')).toBeNull();
    const results = [];
    for (let i = 0; i < 60; i++) {
      results.push(
        await gql(graphqlUrl, '{ me { id } }', {}, user.token).then(
          (r) => (r.data?.me?.id === user.id ? 'ok' : `error ${JSON.stringify(r.errors)}`),
          (err: Error) => `failed ${err.message}`,
        ),
      );
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(results.filter((r) => r !== 'ok')).toEqual([]);
  }, 30_000);
});
