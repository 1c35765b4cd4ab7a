import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, collect, gql, signUp, type TestUser, until, wsClient, rawId } from '../helpers/harness.js';
import { type Stack, startStack, waitFor } from '../helpers/stack.js';

const SEND = `mutation($c: ID!, $text: String!) { sendMessage(conversationId: $c, content: $text) {
  userMessage { id role content intent entities { genre bpm key mood durationSec } }
  assistantMessage { id role status provider }
  generation { id type status input }
} }`;
const CHAT =
  'subscription($c: ID!, $from: Int, $m: ID) { chatStream(conversationId: $c, fromIndex: $from, messageId: $m) { messageId index delta done message { content status } } }';
const ADDED = 'subscription($c: ID!) { messageAdded(conversationId: $c) { id role } }';
type Chunk = {
  chatStream: {
    messageId: string;
    index: number;
    delta: string;
    done: boolean;
    message: { content: string; status: string } | null;
  };
};

let stack: Stack;
let alice: TestUser;
beforeAll(async () => {
  // Its own database: its worker renders this file's beats only (the reconciler of a worker on the
  // shared one also takes other files' PENDING rows, which pushed a beat here past the 30 s timeout).
  stack = await startStack({ CHAT_CHUNK_DELAY_MS: '40' });
  alice = await signUp(stack.api.graphqlUrl);
});
afterAll(() => stack.stop());

const conversation = async (user = alice) =>
  (await gql(stack.api.graphqlUrl, 'mutation { createConversation(title: "chat") { id } }', {}, user.token)).data
    .createConversation.id as string;
const send = (c: string, text: string, user = alice) => gql(stack.api.graphqlUrl, SEND, { c, text }, user.token);

async function replyOf(c: string, text: string) {
  const { client } = wsClient(stack.api.wsUrl, alice.token);
  const sub = collect<Chunk>(client, CHAT, { c });
  await new Promise((r) => setTimeout(r, 150));
  const res = await send(c, text);
  expect(res.errors).toBeUndefined();
  await until(() => sub.events.some((e) => e.chatStream.done), 15_000);
  await client.dispose();
  return { res: res.data.sendMessage, chunks: sub.events.map((e) => e.chatStream) };
}

describe('sendMessage', () => {
  it('turns a request into a beat: intent, entities, a streamed reply equal to the stored one, a finished generation', async () => {
    const c = await conversation();
    const { client } = wsClient(stack.api.wsUrl, alice.token);
    const added = collect<{ messageAdded: { role: string } }>(client, ADDED, { c });
    await new Promise((r) => setTimeout(r, 150));
    const { res, chunks } = await replyOf(c, 'make me a mellow 90 bpm lo-fi beat in A minor, about 20 seconds');
    expect(res.userMessage).toMatchObject({
      role: 'USER',
      intent: 'GENERATE_BEAT',
      entities: { genre: 'lofi', bpm: 90, key: 'A minor', mood: 'mellow', durationSec: 20 },
    });
    expect(res.assistantMessage).toMatchObject({ role: 'ASSISTANT', status: 'STREAMING', provider: 'local' });
    expect(res.generation).toMatchObject({
      type: 'BEAT',
      status: 'PENDING',
      input: { genre: 'lofi', bpm: 90, key: 'A minor', durationSec: 20 },
    });
    expect(chunks.map((x) => x.index)).toEqual(chunks.map((_, i) => i));
    const done = chunks.at(-1);
    const text = chunks
      .filter((x) => !x.done)
      .map((x) => x.delta)
      .join('');
    expect(done?.message).toEqual({ content: text, status: 'COMPLETE' });
    expect(text).toMatch(/lofi beat at 90 bpm in A minor/);
    await until(() => added.events.length >= 2);
    expect(added.events.map((e) => e.messageAdded.role)).toEqual(['USER', 'ASSISTANT']);
    await client.dispose();
    expect((await waitFor(stack.api, alice.token, res.generation.id)).status).toBe('COMPLETED');
  });

  it('acts on the last generation for follow-ups', async () => {
    const c = await conversation();
    const first = (await replyOf(c, 'make a dark trap beat at 140 in F minor, 10 seconds')).res.generation;
    const faster = (await replyOf(c, 'make it faster')).res.generation;
    expect(faster.input).toMatchObject({ genre: 'trap', bpm: 152, key: 'F minor', mood: 'dark', durationSec: 10 });
    const same = (await replyOf(c, 'same but in D minor')).res.generation;
    expect(same.input).toMatchObject({ genre: 'trap', bpm: 152, key: 'D minor', seed: faster.input.seed });
    await waitFor(stack.api, alice.token, same.id);
    const stems = (await replyOf(c, 'give me the stems')).res.generation;
    expect(stems.type).toBe('STEMS');
    expect(stems.input.sourceGenerationId).toBe(rawId(same.id));
    const master = (await replyOf(c, 'master it louder')).res.generation;
    expect(master).toMatchObject({ type: 'MASTER', input: { targetLufs: -10 } });
    expect(first.type).toBe('BEAT');
  });

  it('answers a question without starting anything', async () => {
    const c = await conversation();
    const { res, chunks } = await replyOf(c, 'hi, what can you do?');
    expect(res.userMessage.intent).toBe('CHAT');
    expect(res.generation).toBeNull();
    expect(chunks.at(-1)?.message?.content).toMatch(/tell me what to make/);
  });

  it('explains a follow-up it cannot act on, keeping the user message', async () => {
    const c = await conversation();
    const { res, chunks } = await replyOf(c, 'give me the stems');
    expect(res.generation).toBeNull();
    expect(chunks.at(-1)?.message?.content).toMatch(/no beat in this conversation/);
  });
});

describe('streaming that loses nothing', () => {
  it('replays what a cut socket missed from fromIndex, then continues live, with no gap or repeat', async () => {
    const c = await conversation();
    const first = wsClient(stack.api.wsUrl, alice.token);
    const before = collect<Chunk>(first.client, CHAT, { c });
    await new Promise((r) => setTimeout(r, 150));
    const res = await send(c, 'make me an energetic house track at 124 in A minor, 8 seconds');
    await until(() => before.events.length >= 3);
    await first.client.dispose(); // the socket drops mid-reply
    const got = before.events.map((e) => e.chatStream);
    const messageId = got[0]?.messageId as string;
    await new Promise((r) => setTimeout(r, 200)); // chunks keep coming while we are away
    const second = wsClient(stack.api.wsUrl, alice.token);
    const after = collect<Chunk>(second.client, CHAT, { c, from: got.length, m: messageId });
    await until(() => after.events.some((e) => e.chatStream.done), 15_000);
    await second.client.dispose();
    const all = [...got, ...after.events.map((e) => e.chatStream)];
    expect(all.map((x) => x.index)).toEqual(all.map((_, i) => i));
    const text = all
      .filter((x) => !x.done)
      .map((x) => x.delta)
      .join('');
    expect(all.at(-1)?.message?.content).toBe(text);
    expect(res.data.sendMessage.assistantMessage.id).toBe(messageId);
  });
});

describe('bad input', () => {
  it.each([
    ['', 'content'],
    ['   ', 'content'],
    ['x'.repeat(4001), 'content'],
  ])('refuses %j as BAD_USER_INPUT and stores nothing', async (text, field) => {
    const c = await conversation();
    const res = await send(c, text);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(await stack.api.app.prisma.message.count({ where: { conversationId: rawId(c) } })).toBe(0);
  });

  it("refuses another user's conversation as NOT_FOUND", async () => {
    const bob = await signUp(stack.api.graphqlUrl);
    const c = await conversation();
    expect(codes(await send(c, 'make a beat', bob))).toEqual(['NOT_FOUND']);
  });

  it('limits how many replies one user may have streaming at once', async () => {
    const flood = await startStack({ CHAT_CHUNK_DELAY_MS: '300', CHAT_MAX_CONCURRENT_REPLIES: '1' });
    try {
      const user = await signUp(flood.api.graphqlUrl);
      const c = (await gql(flood.api.graphqlUrl, 'mutation { createConversation { id } }', {}, user.token)).data
        .createConversation.id;
      const first = await gql(flood.api.graphqlUrl, SEND, { c, text: 'hello' }, user.token);
      expect(first.errors).toBeUndefined();
      const second = await gql(flood.api.graphqlUrl, SEND, { c, text: 'hello again' }, user.token);
      expect(codes(second)).toEqual(['RATE_LIMITED']);
      expect(await flood.api.app.prisma.message.count({ where: { conversationId: rawId(c) } })).toBe(2);
    } finally {
      await flood.stop();
    }
  });
});
