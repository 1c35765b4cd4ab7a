/**
 * Load for a Redis failover test: 12 beats generating, each followed by a resuming progress
 * subscriber, and six conversations each sending a message as soon as its last reply ended and
 * following the reply (resuming from the next chunk after a cut). `fail` runs in the middle (after
 * the first beat completed); the talk goes on 3 s after it. Returns what a user would notice.
 */
import { expect } from 'vitest';
import { type FollowedReply, followProgress, followReply } from './follow.js';
import { gql, rawId, type TestUser } from './harness.js';
import { type Stack, waitFor } from './stack.js';

const SEND = 'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { assistantMessage { id } } }';
const BEAT = 'mutation($d: Int!) { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", durationSec: $d }) { id } }';

/** The stack's env for it: replies of ~15 chunks over ~2 s, so several stream through the failover. */
export const FAILOVER_ENV = {
  WORKER_LOCK_MS: '3000',
  CHAT_CHUNK_DELAY_MS: '120',
  CHAT_FRAME_MS: '0',
  CHAT_MAX_CONCURRENT_REPLIES: '20',
};

export async function failoverUnderLoad(stack: Stack, user: TestUser, fail: () => Promise<void>) {
  const api = stack.api;
  const beats: string[] = [];
  for (let i = 0; i < 12; i++) {
    const res = await gql(api.graphqlUrl, BEAT, { d: 10 }, user.token);
    expect(res.errors).toBeUndefined();
    beats.push(res.data.generateBeat.id);
  }
  const progress = beats.map((id) => followProgress(api.wsUrl, user.token, id));

  let running = true;
  let refused = 0;
  const replies: { message: string; reply: FollowedReply }[] = [];
  const conversations = await Promise.all(
    Array.from({ length: 6 }, async (_, i) => {
      const res = await gql(api.graphqlUrl, `mutation { createConversation(title: "failover ${i}") { id } }`, {}, user.token);
      return res.data.createConversation.id as string;
    }),
  );
  const talk = async (c: string) => {
    while (running) {
      const sent = await gql(api.graphqlUrl, SEND, { c, t: 'hey, what can you do?' }, user.token).catch(() => null);
      const message = sent?.data?.sendMessage?.assistantMessage?.id as string | undefined;
      if (!message) {
        refused++; // refused while Redis failed over: a client sends it again
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      replies.push({ message, reply: await followReply(api.wsUrl, user.token, c, message) });
    }
  };
  const talking = Promise.all(conversations.map(talk));

  await waitFor(api, user.token, beats[0] as string, (s) => s.status === 'COMPLETED', 30_000);
  const started = Date.now();
  await fail();
  const failoverMs = Date.now() - started;
  await new Promise((r) => setTimeout(r, 3_000));
  running = false;
  await talking;

  const followed = await Promise.all(progress);
  const states = await Promise.all(beats.map((id) => waitFor(api, user.token, id, undefined, 120_000)));
  const stored = await Promise.all(
    replies.map((r) => api.app.prisma.message.findUniqueOrThrow({ where: { id: rawId(r.message) } })),
  );
  if (process.env.FAILOVER_DEBUG)
    for (const r of replies.filter((x) => x.reply.missing)) {
      const chunks = await api.app.services.chat.storedChunks(rawId(r.message));
      console.error('DEBUG', r.message, JSON.stringify(r.reply), 'stored:', chunks.map((c) => c.index).join(','));
    }
  return {
    failoverMs,
    beats: states.map((s) => s.status),
    followedBeats: followed.map((f) => f.status),
    progressResubscribed: followed.reduce((n, f) => n + f.reconnects, 0),
    replies: replies.length,
    conversations: conversations.length,
    resumedReplies: replies.filter((r) => r.reply.reconnects > 0).length,
    missing: replies.reduce((n, r) => n + r.reply.missing, 0),
    duplicates: replies.reduce((n, r) => n + r.reply.duplicates, 0),
    /** Replies whose followed text differs from the stored message, or that did not end COMPLETE. */
    wrong: replies.filter((r, i) => r.reply.final?.status !== 'COMPLETE' || r.reply.text !== stored[i]?.content).length,
    refused,
  };
}

/** The checks both failover tests make, and one line of figures. */
export function expectNothingLost(name: string, result: Awaited<ReturnType<typeof failoverUnderLoad>>): void {
  console.info(
    `${name} failover in ${result.failoverMs} ms: ${result.beats.filter((s) => s === 'COMPLETED').length}/${result.beats.length} beats completed, ` +
      `${result.replies} replies (${result.resumedReplies} resumed after a cut), ${result.missing} chunks missing, ` +
      `${result.duplicates} received twice, ${result.wrong} differing from the stored reply, ${result.refused} sends refused, ` +
      `progress followers resubscribed ${result.progressResubscribed} times`,
  );
  expect(result.beats).toEqual(result.beats.map(() => 'COMPLETED'));
  expect(result.followedBeats).toEqual(result.beats.map(() => 'COMPLETED'));
  expect(result.missing).toBe(0);
  expect(result.duplicates).toBe(0);
  expect(result.wrong).toBe(0);
  expect(result.replies).toBeGreaterThanOrEqual(result.conversations);
}
