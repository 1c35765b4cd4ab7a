/**
 * Two tabs of one viewer following the same subscription each get their own replay or current
 * state: identical subscriptions are only shared when they have no per-subscriber head.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, gql, type RunningApp, signUp, startApp, type TestUser, until, wsClient } from '../helpers/harness.js';

const CHAT =
  'subscription($c: ID!, $f: Int, $m: ID) { chatStream(conversationId: $c, fromIndex: $f, messageId: $m) { messageId index delta done message { content } } }';
const PROGRESS = 'subscription($id: ID!) { generationProgress(id: $id) { percent stage generation { id status } } }';
const SEND = 'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { assistantMessage { id } } }';

type Chunk = {
  chatStream: { messageId: string; index: number; delta: string; done: boolean; message: { content: string } | null };
};
type Progress = { generationProgress: { percent: number; stage: string | null; generation: { id: string; status: string } } };

let api: RunningApp;
let alice: TestUser;
const clients: { dispose(): unknown }[] = [];

beforeAll(async () => {
  // Slow chunks, so tabs open while the reply is still streaming.
  api = await startApp({ CHAT_CHUNK_DELAY_MS: '25', CHAT_FRAME_MS: '0' });
  alice = await signUp(api.graphqlUrl);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await api.stop();
});

function tab() {
  const { client } = wsClient(api.wsUrl, alice.token);
  clients.push(client);
  return client;
}

/** Every index from 0 to done exactly once, and the text equal to the stored reply. */
function missing(chunks: Chunk['chatStream'][], stored: string): number {
  const done = chunks.find((c) => c.done);
  if (!done) return Number.POSITIVE_INFINITY;
  const seen = new Set(chunks.map((c) => c.index));
  let gaps = 0;
  for (let i = 0; i <= done.index; i++) if (!seen.has(i)) gaps++;
  expect(chunks.map((c) => c.index)).toEqual([...seen]); // no repeats, in order
  expect(chunks.map((c) => c.delta).join('')).toBe(stored);
  return gaps;
}

describe('two tabs', () => {
  it('both tabs on one chatStream with fromIndex get the complete replay then the live rest: 0 missing chunks over 5 runs', async () => {
    let gaps = 0;
    for (let run = 0; run < 5; run++) {
      const c = (await gql(api.graphqlUrl, 'mutation { createConversation(title: "tabs") { id } }', {}, alice.token)).data
        .createConversation.id as string;
      const sent = await gql(api.graphqlUrl, SEND, { c, t: 'hey, what can you do?' }, alice.token);
      const m = sent.data.sendMessage.assistantMessage.id as string;
      // The reply is streaming; the first tab opens with a replay, the second one later, after the
      // first has already received part of it (the shared execution used to have yielded the replay).
      await new Promise((r) => setTimeout(r, 80 + run * 40));
      const first = collect<Chunk>(tab(), CHAT, { c, f: 0, m });
      await first.nth(3, 10_000);
      const second = collect<Chunk>(tab(), CHAT, { c, f: 0, m });
      await until(() => [first, second].every((t) => t.events.some((e) => e.chatStream.done)), 20_000);
      const stored = (
        await api.app.prisma.message.findUniqueOrThrow({ where: { id: Buffer.from(m, 'base64').toString().split(':')[1] } })
      ).content;
      expect(stored.length).toBeGreaterThan(0);
      gaps += missing(
        first.events.map((e) => e.chatStream),
        stored,
      );
      gaps += missing(
        second.events.map((e) => e.chatStream),
        stored,
      );
      expect(second.events[0]?.chatStream.index).toBe(0);
      first.dispose();
      second.dispose();
    }
    expect(gaps).toBe(0);
  }, 90_000);

  it('both tabs on one generationProgress get the current state at once, then the same live events', async () => {
    const created = await gql(
      api.graphqlUrl,
      'mutation { generateBeat(input: { genre: "lofi", bpm: 90, key: "A minor", durationSec: 5 }) { id status } }',
      {},
      alice.token,
    );
    const id = created.data.generateBeat.id as string;
    const first = collect<Progress>(tab(), PROGRESS, { id });
    expect((await first.nth(1)).generationProgress.generation.status).toBe(created.data.generateBeat.status);
    // The second tab opens while the first is live and nothing new happens: it must not wait for an event.
    const second = collect<Progress>(tab(), PROGRESS, { id });
    expect((await second.nth(1, 3_000)).generationProgress.generation.id).toBe(id);

    const rawId = Buffer.from(id, 'base64').toString().split(':')[1] as string;
    await until(async () => {
      const generation = await api.app.prisma.generation.update({
        where: { id: rawId },
        data: { status: 'PROCESSING', progress: 40, stage: 'render' },
      });
      await api.app.services.pubsub.publish('generationProgress', rawId, { generation, percent: 40, stage: 'render' });
      return first.events.length >= 2 && second.events.length >= 2;
    }, 10_000);
    for (const t of [first, second]) expect(t.events[1]?.generationProgress).toMatchObject({ percent: 40, stage: 'render' });
  });
});
