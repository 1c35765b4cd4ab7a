/**
 * Chat through the real provider SDKs (openai, @anthropic-ai/sdk, @google/generative-ai)
 * pointed at a loopback server speaking their streaming wire formats: fallback order,
 * errors, 429, slow first token, mid-stream drop, all failing, the circuit breaker,
 * and what is stored each time.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeAi, startFakeAi } from '../../scripts/fake-ai/server.js';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { collect, gql, type RunningApp, signUp, startApp, type TestUser, until, wsClient } from '../helpers/harness.js';

const SEND = `mutation($c: ID!, $text: String!) { sendMessage(conversationId: $c, content: $text) {
  userMessage { id intent entities { genre bpm key mood durationSec } }
  assistantMessage { id status }
  generation { id type status }
} }`;
const CHAT = 'subscription($c: ID!) { chatStream(conversationId: $c) { messageId index delta done message { status } } }';
const MESSAGES = `query($c: ID!) { conversation(id: $c) { messages(first: 50) { edges { node {
  id role content status provider model promptTokens completionTokens cost error intent generation { id status }
} } } } }`;
type Chunk = {
  chatStream: { messageId: string; index: number; delta: string; done: boolean; message: { status: string } | null };
};
interface StoredMessage {
  id: string;
  role: string;
  content: string;
  status: string;
  provider: string | null;
  model: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  cost: number;
  error: string | null;
  intent: string | null;
  generation: { id: string; status: string } | null;
}

const MODELS = { OPENAI_MODEL: 'gpt-fake', ANTHROPIC_MODEL: 'claude-fake', GOOGLE_MODEL: 'gemini-fake' };
const KEYS = { OPENAI_API_KEY: 'sk-test', ANTHROPIC_API_KEY: 'sk-ant-test', GOOGLE_API_KEY: 'g-test' };
// USD per million tokens; the fake reports 42 prompt + 17 completion tokens per reply.
const PRICES = JSON.stringify({
  'gpt-fake': { input: 1000, output: 2000 },
  'claude-fake': { input: 500, output: 1000 },
  'gemini-fake': { input: 100, output: 200 },
});

let fake: FakeAi;
let stack: RunningApp;
let alice: TestUser;

async function chatApp(overrides: Record<string, string>) {
  // No worker: these tests are about the reply; the generation is only created (it stays PENDING).
  const s = await startApp({
    REDIS_PREFIX: `${inject('redisPrefix')}${randomBytes(3).toString('hex')}:`,
    ...fake.env,
    ...KEYS,
    ...MODELS,
    AI_PRICES: PRICES,
    AI_FIRST_TOKEN_TIMEOUT_MS: '500',
    AI_TOTAL_TIMEOUT_MS: '5000',
    AI_BREAKER_FAILURES: '1000',
    CHAT_CHUNK_DELAY_MS: '5',
    ...overrides,
  });
  return { stack: s, user: await signUp(s.graphqlUrl) };
}

beforeAll(async () => {
  fake = await startFakeAi();
  ({ stack, user: alice } = await chatApp({ AI_PROVIDERS: 'anthropic,openai,google,local' }));
});
afterAll(async () => {
  await stack?.stop();
  await fake?.close();
});
beforeEach(() => fake.reset());

/** Sends `text` in a new conversation, collects the streamed reply until done, returns both messages as stored. */
async function converse(text: string, s = stack, user = alice) {
  const c = (await gql(s.graphqlUrl, 'mutation { createConversation { id } }', {}, user.token)).data.createConversation
    .id as string;
  const { client } = wsClient(s.wsUrl, user.token);
  const sub = collect<Chunk>(client, CHAT, { c });
  await new Promise((r) => setTimeout(r, 150));
  const res = await gql(s.graphqlUrl, SEND, { c, text }, user.token);
  expect(res.errors).toBeUndefined();
  await until(() => sub.events.some((e) => e.chatStream.done), 10_000);
  await client.dispose();
  const chunks = sub.events.map((e) => e.chatStream);
  const messages = (await gql(s.graphqlUrl, MESSAGES, { c }, user.token)).data.conversation.messages.edges.map(
    (e: { node: StoredMessage }) => e.node,
  ) as StoredMessage[];
  const streamed = chunks
    .filter((ch) => !ch.done)
    .map((ch) => ch.delta)
    .join('');
  return {
    sent: res.data.sendMessage,
    chunks,
    streamed,
    user: messages.find((m) => m.role === 'USER') as StoredMessage,
    assistant: messages.find((m) => m.role === 'ASSISTANT') as StoredMessage,
  };
}

const replyOrder = () => fake.requests.filter((r) => r.kind === 'reply').map((r) => r.provider);

describe('chat through provider SDKs', () => {
  it('streams a reply from the first provider, with its usage and cost, and uses its intent output', async () => {
    fake.script(
      'anthropic',
      { text: 'A rainy-night lo-fi beat in C minor coming up.' },
      // Something the local parser cannot read; the provider's reading (normalized) is used.
      { intent: { intent: 'GENERATE_BEAT', entities: { genre: 'lo-fi', bpm: 78, key: 'Cm', mood: 'Dreamy' } } },
    );
    const r = await converse('something for a rainy night drive');
    expect(r.sent.userMessage).toMatchObject({
      intent: 'GENERATE_BEAT',
      entities: { genre: 'lofi', bpm: 78, key: 'C minor', mood: 'dreamy' },
    });
    expect(r.sent.generation).toMatchObject({ type: 'BEAT' });
    expect(r.streamed).toBe('A rainy-night lo-fi beat in C minor coming up.');
    expect(r.assistant).toMatchObject({
      content: r.streamed,
      status: 'COMPLETE',
      provider: 'anthropic',
      model: 'claude-fake',
      promptTokens: 42,
      completionTokens: 17,
    });
    expect(r.assistant.cost).toBeCloseTo((42 * 500 + 17 * 1000) / 1e6, 4);
    // The intent call is billed on the user message: 42 prompt and 20 completion tokens, as reported.
    expect(r.user).toMatchObject({ provider: 'anthropic', model: 'claude-fake', promptTokens: 42, completionTokens: 20 });
    expect(r.user.cost).toBeCloseTo((42 * 500 + 20 * 1000) / 1e6, 4);
    expect(replyOrder()).toEqual(['anthropic']);
    // The provider saw the conversation's context in its instructions.
    const reply = fake.requests.find((q) => q.kind === 'reply');
    expect(String(reply?.body.system)).toContain('78 bpm');
  });

  it('gives the provider the conversation: earlier turns, the project and the last generation', async () => {
    const project = (
      await gql(stack.graphqlUrl, 'mutation { createProject(name: "Night drive", bpm: 84, key: "Dm") { id } }', {}, alice.token)
    ).data.createProject.id as string;
    const c = (
      await gql(stack.graphqlUrl, 'mutation($p: ID) { createConversation(projectId: $p) { id } }', { p: project }, alice.token)
    ).data.createConversation.id as string;
    fake.script('anthropic', { text: 'First answer.' });
    const say = async (text: string) => {
      const { client } = wsClient(stack.wsUrl, alice.token);
      const sub = collect<Chunk>(client, CHAT, { c });
      await new Promise((r) => setTimeout(r, 150));
      expect((await gql(stack.graphqlUrl, SEND, { c, text }, alice.token)).errors).toBeUndefined();
      await until(() => sub.events.some((e) => e.chatStream.done), 10_000);
      await client.dispose();
    };
    await say('make me a lo-fi beat');
    fake.reset();
    fake.script('anthropic', { text: 'Second answer.' });
    await say('make it faster');
    const intent = fake.requests.find((q) => q.kind === 'intent');
    const reply = fake.requests.find((q) => q.kind === 'reply');
    for (const request of [intent, reply]) {
      expect(request?.body.messages).toEqual([
        { role: 'user', content: 'make me a lo-fi beat' },
        { role: 'assistant', content: 'First answer.' },
        { role: 'user', content: 'make it faster' },
      ]);
      const system = String(request?.body.system);
      expect(system).toContain('project "Night drive" at 84 bpm in D minor');
      expect(system).toMatch(/last generation: BEAT \(\w+\) with \{.*"bpm":84.*"genre":"lofi"/);
    }
    // The follow-up is made 12 bpm faster than the project's tempo the first beat used.
    expect(String(reply?.body.system)).toContain('at 96 bpm');
  });

  it('falls back in the configured order past a 429 and a 500, and counts every attempt', async () => {
    fake.script('anthropic', { status: 429 });
    fake.script('openai', { status: 500 });
    fake.script('google', { text: 'Gemini here: your beat is on its way.' });
    const r = await converse('make me a dark 140 bpm trap beat in F minor');
    expect(replyOrder()).toEqual(['anthropic', 'openai', 'google']);
    expect(r.streamed).toBe('Gemini here: your beat is on its way.');
    expect(r.assistant).toMatchObject({ content: r.streamed, status: 'COMPLETE', provider: 'google', model: 'gemini-fake' });
    expect(r.assistant.cost).toBeCloseTo((42 * 100 + 17 * 200) / 1e6, 4);
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/dawg_ai_attempts_total\{provider="anthropic",kind="reply",outcome="rate_limited"\} [1-9]/);
    expect(metrics).toMatch(/dawg_ai_attempts_total\{provider="openai",kind="reply",outcome="error"\} [1-9]/);
    expect(metrics).toMatch(/dawg_ai_attempts_total\{provider="google",kind="reply",outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/dawg_ai_attempt_duration_seconds_count\{provider="google",kind="reply",outcome="ok"\} [1-9]/);
  });

  it('gives up on a provider whose first token is too slow', async () => {
    fake.script('anthropic', { text: 'too late', delayMs: 1500 });
    fake.script('openai', { text: 'OpenAI answers in time.' });
    const started = Date.now();
    const r = await converse('make me a house beat');
    expect(replyOrder()).toEqual(['anthropic', 'openai']);
    expect(r.streamed).toBe('OpenAI answers in time.');
    expect(r.assistant).toMatchObject({ provider: 'openai', status: 'COMPLETE', content: r.streamed });
    expect(Date.now() - started).toBeLessThan(1500 + 1000);
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/dawg_ai_attempts_total\{provider="anthropic",kind="reply",outcome="timeout"\} [1-9]/);
  });

  it('continues a reply dropped mid-stream with the next provider, without repeating the text already sent', async () => {
    const full = 'Here is your beat: a mellow lo-fi groove at 90 bpm in A minor.';
    fake.script('anthropic', { text: full, dropAfter: 3, pieceSize: 6 }); // "Here is your beat:" then the socket dies
    // The next provider starts over from the beginning; what the user already has is not sent twice.
    fake.script('openai', { text: full });
    const r = await converse('make me a mellow 90 bpm lo-fi beat in A minor');
    expect(replyOrder()).toEqual(['anthropic', 'openai']);
    expect(r.streamed).toBe(full);
    expect(r.assistant).toMatchObject({ content: full, status: 'COMPLETE', provider: 'openai' });
    const indexes = r.chunks.map((c) => c.index);
    expect(indexes).toEqual([...indexes.keys()]);
    // OpenAI was handed the partial reply to continue.
    const handover = fake.requests.filter((q) => q.kind === 'reply')[1]?.body.messages as { role: string; content: string }[];
    expect(handover.some((m) => m.role === 'assistant' && m.content === full.slice(0, 18))).toBe(true);
  });

  it('passes a dropped reply to a provider that continues it where it stopped', async () => {
    fake.script('anthropic', { status: 503 });
    fake.script('openai', { text: 'Stems are coming: drums, bass, chords and lead.', dropAfter: 2, pieceSize: 5 });
    fake.script('google', { text: 'coming: drums, bass, chords and lead.' });
    const r = await converse('make me a techno beat');
    expect(replyOrder()).toEqual(['anthropic', 'openai', 'google']);
    expect(r.streamed).toBe('Stems are coming: drums, bass, chords and lead.');
    expect(r.assistant).toMatchObject({ content: r.streamed, provider: 'google' });
    const contents = fake.requests.filter((q) => q.kind === 'reply')[2]?.body.contents as {
      role: string;
      parts: { text: string }[];
    }[];
    expect(contents.some((c) => c.role === 'model' && c.parts[0]?.text === 'Stems are ')).toBe(true);
  });

  it('hands a dropped reply to Anthropic as a prefilled assistant turn', async () => {
    const { stack: s, user } = await chatApp({ AI_PROVIDERS: 'openai,anthropic' });
    try {
      fake.script('openai', { text: 'Mastering it louder now, to -10 LUFS.', dropAfter: 3, pieceSize: 5 });
      fake.script('anthropic', { text: 'uder now, to -10 LUFS.' });
      const r = await converse('make me a lofi beat', s, user);
      expect(r.streamed).toBe('Mastering it louder now, to -10 LUFS.');
      expect(r.assistant).toMatchObject({ content: r.streamed, provider: 'anthropic', status: 'COMPLETE' });
      const handover = fake.requests.find((q) => q.provider === 'anthropic' && q.kind === 'reply')?.body.messages as {
        role: string;
        content: string;
      }[];
      expect(handover.at(-1)).toEqual({
        role: 'assistant',
        content: 'Mastering it louder now, to -10 LUFS.'.slice(0, 15).trimEnd(),
      });
    } finally {
      await s.stop();
    }
  });

  it('marks the reply FAILED with a stable reason when every provider fails, keeping the user message and the generation', async () => {
    const { stack: s, user } = await chatApp({ AI_PROVIDERS: 'openai,anthropic' });
    try {
      fake.script('openai', { status: 500 }, { status: 500 });
      fake.script('anthropic', { status: 429 }, { status: 429 });
      const r = await converse('make me a 90 bpm lo-fi beat in A minor', s, user);
      // The local parser still understood the message, so the beat is being made.
      expect(r.sent.userMessage).toMatchObject({ intent: 'GENERATE_BEAT', entities: { bpm: 90, genre: 'lofi' } });
      expect(r.user).toMatchObject({ status: 'COMPLETE', intent: 'GENERATE_BEAT' });
      expect(r.assistant.status).toBe('FAILED');
      // A stable reason naming the providers tried; what they answered (status, body) stays in the logs and metrics.
      expect(r.assistant.error).toBe('PROVIDERS_UNAVAILABLE: no AI provider could answer (tried openai, anthropic), ask again');
      expect(r.assistant.error).not.toMatch(/HTTP|500|429|rate limit|server had an error/i);
      expect(r.assistant.generation?.id).toBe(r.sent.generation.id);
      expect(r.chunks.at(-1)).toMatchObject({ done: true, message: { status: 'FAILED' } });
      expect(fake.requests.map((q) => `${q.provider}:${q.kind}`)).toEqual([
        'openai:intent',
        'anthropic:intent',
        'openai:reply',
        'anthropic:reply',
      ]);
    } finally {
      await s.stop();
    }
  });

  it('falls back from Gemini on a 429 and on a stalled stream, classifying each', async () => {
    const { stack: s, user } = await chatApp({ AI_PROVIDERS: 'google,local' });
    try {
      fake.script('google', { status: 429 }, { status: 429 });
      const limited = await converse('make me a dnb beat', s, user);
      expect(limited.assistant).toMatchObject({ provider: 'local', status: 'COMPLETE' });
      expect(limited.streamed).toMatch(/^On it: a \w+ dnb beat/);
      fake.script('google', { text: 'never in time', delayMs: 1500 }, { delayMs: 1500 });
      const slow = await converse('make me a trap beat', s, user);
      expect(slow.assistant).toMatchObject({ provider: 'local', status: 'COMPLETE' });
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toMatch(/dawg_ai_attempts_total\{provider="google",kind="reply",outcome="rate_limited"\} 1/);
      expect(metrics).toMatch(/dawg_ai_attempts_total\{provider="google",kind="intent",outcome="rate_limited"\} 1/);
      expect(metrics).toMatch(/dawg_ai_attempts_total\{provider="google",kind="reply",outcome="timeout"\} 1/);
      expect(metrics).toMatch(/dawg_ai_attempts_total\{provider="google",kind="intent",outcome="timeout"\} 1/);
    } finally {
      await s.stop();
    }
  });

  it('skips a provider without a key', async () => {
    const { stack: s, user } = await chatApp({ AI_PROVIDERS: 'google,openai', GOOGLE_API_KEY: '' });
    try {
      fake.script('openai', { text: 'Only OpenAI has a key.' });
      const r = await converse('make me a pop beat', s, user);
      expect(fake.requests.map((q) => q.provider)).not.toContain('google');
      expect(r.assistant).toMatchObject({ provider: 'openai', content: 'Only OpenAI has a key.' });
    } finally {
      await s.stop();
    }
  });

  it('opens the circuit after repeated failures and tries the provider again after the cool-down', async () => {
    const { stack: s, user } = await chatApp({
      AI_PROVIDERS: 'openai,local',
      AI_BREAKER_FAILURES: '2',
      AI_BREAKER_COOLDOWN_MS: '3000',
    });
    try {
      fake.script('openai', { status: 500 }, { status: 500 });
      const first = await converse('make me a trap beat', s, user);
      // intent + reply failed: two failures in a row open the circuit; the local provider answered.
      expect(first.assistant).toMatchObject({ provider: 'local', status: 'COMPLETE' });
      expect(fake.requests).toHaveLength(2);
      const second = await converse('make me a dnb beat', s, user);
      expect(second.assistant).toMatchObject({ provider: 'local', status: 'COMPLETE' });
      expect(fake.requests.map((q) => q.kind)).toEqual(['intent', 'reply']); // skipped during the cool-down
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toMatch(/dawg_ai_attempts_total\{provider="openai",kind="reply",outcome="circuit_open"\} [1-9]/);
      await new Promise((r) => setTimeout(r, 3100));
      fake.script('openai', { text: 'Back again.' }, {});
      const third = await converse('make me an ambient beat', s, user);
      expect(third.assistant).toMatchObject({ provider: 'openai', content: 'Back again.' });
    } finally {
      await s.stop();
    }
  });
});
