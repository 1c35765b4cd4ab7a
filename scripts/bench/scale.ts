/**
 * `npm run bench:scale`: scale-out on this machine (issue 13). For 1, 2 and 3 api processes × 1 and
 * 2 workers behind HAProxy (scripts/topology/cluster-local.ts), through the balancer:
 *   - deliveries/s: SOCKETS graphql-ws sockets on one chatStream; EVENTS events published to Redis
 *     as fast as it takes them; deliveries counted at the clients until every socket has them all;
 *   - chat messages/s: CONVERSATIONS conversations, each followed on its own socket, sendMessage
 *     offered at RATE/s for SECONDS s; replies streamed to done per second;
 *   - beats/min: BEATS beats of 30 s queued at once, until all are COMPLETED.
 * The baseline is the 1 api × 1 worker topology, measured in the same run. Writes docs/bench/scale.json.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { startLocalCluster } from '../topology/cluster-local.js';
import { PubSub } from '../../src/pubsub.js';
import { createBenchEnv, gqlAt, machine, paced, signUp, table, writeResult } from './lib.js';

const { values } = parseArgs({
  options: {
    apis: { type: 'string', default: '1,2,3' },
    workers: { type: 'string', default: '1,2' },
    sockets: { type: 'string', default: '300' },
    events: { type: 'string', default: '300' },
    conversations: { type: 'string', default: '50' },
    rate: { type: 'string', default: '400' },
    seconds: { type: 'string', default: '4' },
    beats: { type: 'string', default: '24' },
    port: { type: 'string', default: '14000' },
  },
});
const list = (v: string) => v.split(',').map(Number);
const SOCKETS = Number(values.sockets);
const EVENTS = Number(values.events);
const CONVERSATIONS = Number(values.conversations);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const BEATS = Number(values.beats);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SEND = 'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { assistantMessage { id } } }';

/** A graphql-ws socket through the balancer, subscribed to `query`; `onNext` gets each raw frame. */
function follow(wsUrl: string, token: string, query: string, onNext: (raw: string) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    socket.on('error', reject);
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    );
    socket.on('message', (data) => {
      const raw = data.toString();
      if (raw.startsWith('{"type":"connection_ack"')) {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
        setTimeout(() => resolve(socket), 50);
      } else if (raw.startsWith('{"type":"ping"')) socket.send('{"type":"pong"}');
      else onNext(raw);
    });
  });
}

async function measure(apis: number, workers: number, port: number) {
  const bench = await createBenchEnv({
    CHAT_MAX_CONCURRENT_REPLIES: '20',
    WS_MAX_SOCKETS_PER_USER: '10000',
    WS_MAX_SUBSCRIPTIONS: '10000',
  });
  const cluster = await startLocalCluster({ port, apis, workers, env: bench.env });
  const gql = gqlAt(`${cluster.url}/graphql`);
  const wsUrl = `${cluster.url.replace(/^http/, 'ws')}/graphql`;
  const run = randomBytes(3).toString('hex');
  const signUpUser = (i: number) => signUp(gql, `scale-${run}-${i}@example.test`);
  try {
    // 1. Deliveries: every socket on one conversation's chatStream, events published straight to Redis.
    const owner = await signUpUser(0);
    const conversation = (await gql('mutation { createConversation(title: "fan-out") { id } }', {}, owner)).data
      .createConversation?.id as string;
    let delivered = 0;
    const sockets = await Promise.all(
      Array.from({ length: SOCKETS }, () =>
        follow(wsUrl, owner, `subscription { chatStream(conversationId: "${conversation}") { index delta } }`, () => {
          delivered++;
        }),
      ),
    );
    // Channels are keyed by the row id, not the global id the API hands out.
    const key = Buffer.from(conversation, 'base64').toString().split(':')[1] as string;
    const redis = new Redis(bench.env.REDIS_URL as string);
    const pubsub = new PubSub(redis, redis, bench.prefix);
    const event = (index: number) =>
      pubsub.encode('chatChunk', key, {
        conversationId: key,
        messageId: 'bench',
        index,
        delta: 'hello there ',
        done: false,
        message: null,
      });
    const started = performance.now();
    for (let i = 0; i < EVENTS; i += 50) {
      const batch = redis.pipeline();
      for (let j = i; j < Math.min(EVENTS, i + 50); j++) {
        const { channel, data } = event(j);
        batch.publish(channel, data);
      }
      await batch.exec();
    }
    const expected = SOCKETS * EVENTS;
    const deadline = Date.now() + 60_000;
    while (delivered < expected && Date.now() < deadline) await sleep(5);
    const deliveriesPerSec = delivered / ((performance.now() - started) / 1000);
    for (const s of sockets) s.terminate();
    redis.disconnect();

    // 2. Chat: CONVERSATIONS users, one conversation and socket each; sendMessage at RATE/s.
    const convs = await Promise.all(
      Array.from({ length: CONVERSATIONS }, async (_, i) => {
        const token = await signUpUser(i + 1);
        const id = (await gql('mutation { createConversation(title: "chat") { id } }', {}, token)).data.createConversation
          ?.id as string;
        const done = new Set<string>();
        const socket = await follow(
          wsUrl,
          token,
          `subscription { chatStream(conversationId: "${id}") { messageId done } }`,
          (raw) => {
            if (raw.includes('"done":true')) done.add(JSON.parse(raw).payload.data.chatStream.messageId);
          },
        );
        return { token, id, done, socket };
      }),
    );
    const sendStart = performance.now();
    const sent = await paced(RATE, RATE * SECONDS, async (i) => {
      const c = convs[i % convs.length] as (typeof convs)[number];
      const res = await gql(SEND, { c: c.id, t: 'hello there, tell me what you make' }, c.token);
      return { c, id: (res.data?.sendMessage?.assistantMessage as { id: string } | undefined)?.id };
    });
    // A send refused (RATE_LIMITED: the user's replies in flight at CHAT_MAX_CONCURRENT_REPLIES) has
    // no reply to wait for; it is counted as refused.
    const accepted = sent.results.filter((s) => s.id);
    const chatDeadline = Date.now() + 60_000;
    const ended = () => accepted.filter((s) => s.c.done.has(s.id as string)).length;
    while (ended() < accepted.length && Date.now() < chatDeadline) await sleep(10);
    const messagesPerSec = ended() / ((performance.now() - sendStart) / 1000);
    for (const c of convs) c.socket.terminate();

    // 3. Beats: BEATS beats of 30 s at once, until all are COMPLETED.
    const beatOwner = await signUpUser(CONVERSATIONS + 1);
    const beatStart = performance.now();
    for (let i = 0; i < BEATS; i++)
      await gql(
        'mutation { generateBeat(input: { genre: "house", bpm: 124, key: "C minor", durationSec: 30 }) { id } }',
        {},
        beatOwner,
      );
    let completed = 0;
    const beatDeadline = Date.now() + 300_000;
    while (completed < BEATS && Date.now() < beatDeadline) {
      await sleep(250);
      const page = await gql('{ generations(first: 100) { edges { node { status } } } }', {}, beatOwner);
      completed = ((page.data.generations?.edges ?? []) as { node: { status: string } }[]).filter(
        (e) => e.node.status === 'COMPLETED',
      ).length;
    }
    const beatsPerMin = completed / ((performance.now() - beatStart) / 60_000);
    return {
      apis,
      workers,
      deliveriesPerSec,
      delivered,
      expected,
      messagesPerSec,
      messages: ended(),
      refused: sent.results.length - accepted.length,
      offered: sent.results.length,
      beatsPerMin,
      beats: completed,
    };
  } finally {
    await cluster.stop();
    await bench.drop();
  }
}

const results = [];
let port = Number(values.port);
for (const apis of list(values.apis))
  for (const workers of list(values.workers)) {
    console.error(`measuring ${apis} api(s) × ${workers} worker(s)…`);
    results.push(await measure(apis, workers, port));
    port += 10;
  }
const base = results.find((r) => r.apis === 1 && r.workers === 1) ?? results[0];
console.log(
  table(
    results.map((r) => ({
      topology: `${r.apis} api × ${r.workers} worker`,
      'deliveries/s': `${r.deliveriesPerSec.toFixed(0)} (${(r.deliveriesPerSec / (base?.deliveriesPerSec ?? 1)).toFixed(2)}×)`,
      'chat messages/s': `${r.messagesPerSec.toFixed(0)} (${(r.messagesPerSec / (base?.messagesPerSec ?? 1)).toFixed(2)}×)`,
      'beats/min': `${r.beatsPerMin.toFixed(1)} (${(r.beatsPerMin / (base?.beatsPerMin ?? 1)).toFixed(2)}×)`,
      complete: `${r.delivered}/${r.expected} · ${r.messages}/${r.offered}${r.refused ? ` (${r.refused} refused)` : ''} · ${r.beats}/${BEATS}`,
    })),
  ),
);
console.log(`baseline: 1 api × 1 worker in this run; ${machine().cpus} cores`);
console.log(
  `wrote ${await writeResult('scale', { params: { sockets: SOCKETS, events: EVENTS, conversations: CONVERSATIONS, rate: RATE, seconds: SECONDS, beats: BEATS }, results })}`,
);
process.exit(0);
