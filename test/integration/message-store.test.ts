/** The chat path's SQL (MessageStore) against PostgreSQL: the rows it returns are what Prisma reads. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Sql } from '../../src/db/client.js';
import { MessageStore } from '../../src/modules/chat/message.store.js';
import { type RunningApp, startApp, testConfig } from '../helpers/harness.js';

let api: RunningApp;
let sql: Sql;
let store: MessageStore;
let userId: string;
let conversationId: string;
let projectId: string;
beforeAll(async () => {
  api = await startApp();
  sql = createPool(testConfig());
  store = new MessageStore(sql);
  const { prisma } = api.app;
  const user = await prisma.user.create({ data: { email: `store-${randomUUID()}@example.test`, passwordHash: 'x' } });
  userId = user.id;
  projectId = (
    await prisma.project.create({ data: { ownerId: userId, name: 'store test', members: { create: { userId, role: 'OWNER' } } } })
  ).id;
  conversationId = (await prisma.conversation.create({ data: { userId, projectId } })).id;
});
afterAll(async () => {
  await sql.end();
  await api.stop();
});

const read = (id: string) => api.app.prisma.message.findUniqueOrThrow({ where: { id } });

describe('MessageStore', () => {
  it('stores a user message in an owned conversation, returning the row Prisma reads and the project', async () => {
    const added = await store.addUserMessage(userId, conversationId, {
      content: 'make it faster',
      status: 'COMPLETE',
      intent: 'GENERATE_BEAT',
      entities: { bpm: 102, genre: 'lofi' },
    });
    expect(added?.projectId).toBe(projectId);
    expect(added?.message).toEqual(await read(added?.message.id as string));
    expect(added?.message).toMatchObject({ role: 'USER', conversationId, entities: { bpm: 102, genre: 'lofi' } });
  });

  it('stores nothing in a conversation the user does not own, or that does not exist', async () => {
    // Counted in these two conversations only: other test files write messages to the same database meanwhile.
    const missing = randomUUID();
    const count = () => api.app.prisma.message.count({ where: { conversationId: { in: [conversationId, missing] } } });
    const before = await count();
    const m = { content: 'hi', status: 'COMPLETE', intent: 'CHAT', entities: {} } as const;
    expect(await store.addUserMessage(randomUUID(), conversationId, m)).toBeNull();
    expect(await store.addUserMessage(userId, missing, m)).toBeNull();
    expect(await store.addExchange(randomUUID(), conversationId, m, { ...m, status: 'STREAMING' })).toBeNull();
    expect(await count()).toBe(before);
  });

  it('stores the assistant message strictly after the user one and touches the conversation', async () => {
    const touched = (await api.app.prisma.conversation.findUniqueOrThrow({ where: { id: conversationId } })).updatedAt;
    const sameInstant = new Date();
    const assistant = await store.addAssistantMessage(conversationId, userId, sameInstant, {
      content: '',
      status: 'STREAMING',
      intent: 'CHAT',
      entities: null,
      provider: 'local',
      model: 'local-templates',
    });
    expect(assistant).toEqual(await read(assistant.id));
    expect(assistant.createdAt.getTime()).toBeGreaterThan(sameInstant.getTime());
    expect(assistant.entities).toBeNull();
    const after = (await api.app.prisma.conversation.findUniqueOrThrow({ where: { id: conversationId } })).updatedAt;
    expect(after.getTime()).toBeGreaterThanOrEqual(touched.getTime());
  });

  it('stores an exchange in one statement, the reply after the message, both as Prisma reads them', async () => {
    const exchange = await store.addExchange(
      userId,
      conversationId,
      { content: 'what can you do?', status: 'COMPLETE', intent: 'CHAT', entities: {} },
      { content: '', status: 'STREAMING', intent: 'CHAT', entities: {}, provider: 'local', model: 'local-templates' },
    );
    if (!exchange) throw new Error('not stored');
    expect(exchange.userMessage).toEqual(await read(exchange.userMessage.id));
    expect(exchange.assistantMessage).toEqual(await read(exchange.assistantMessage.id));
    expect(exchange.assistantMessage.createdAt.getTime()).toBeGreaterThan(exchange.userMessage.createdAt.getTime());
    // Listed as the API lists them (createdAt, then id): the reply follows its message.
    const listed = await api.app.prisma.message.findMany({
      where: { conversationId },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: { id: true },
    });
    const ids = listed.map((m) => m.id);
    expect(ids.indexOf(exchange.assistantMessage.id)).toBe(ids.indexOf(exchange.userMessage.id) + 1);
  });

  it('finishes a reply once: the fields given change, the others stay; an ended or deleted reply gives null', async () => {
    const exchange = await store.addExchange(
      userId,
      conversationId,
      { content: 'hello', status: 'COMPLETE', intent: 'CHAT', entities: {} },
      { content: '', status: 'STREAMING', intent: 'CHAT', entities: {}, provider: 'openai', model: 'gpt-4o-mini' },
    );
    const id = exchange?.assistantMessage.id as string;
    const done = await store.finish(id, {
      content: 'Hi there',
      status: 'COMPLETE',
      promptTokens: 12,
      completionTokens: 3,
      cost: 0.0123,
    });
    expect(done).toEqual(await read(id));
    expect(done).toMatchObject({ content: 'Hi there', status: 'COMPLETE', provider: 'openai', promptTokens: 12 });
    expect(Number(done?.cost)).toBe(0.0123);
    // A reply already ended (by its writer, or swept as an orphan) is not changed again.
    expect(await store.finish(id, { status: 'FAILED', error: 'gone', provider: null, model: null })).toBeNull();
    expect(await read(id)).toMatchObject({ status: 'COMPLETE', error: null, provider: 'openai', content: 'Hi there' });
    await api.app.prisma.message.delete({ where: { id } });
    expect(await store.finish(id, { status: 'COMPLETE' })).toBeNull();
  });

  describe('exchanges added together', () => {
    const m = (content: string) => ({ content, status: 'COMPLETE', intent: 'CHAT', entities: {} }) as const;
    const reply = {
      content: '',
      status: 'STREAMING',
      intent: 'CHAT',
      entities: {},
      provider: 'local',
      model: 'local-templates',
    } as const;
    /** A store whose statements are counted. */
    const counting = () => {
      const counted = { statements: 0 };
      const query = sql.query.bind(sql) as (...args: unknown[]) => unknown;
      const pool = {
        query: (...args: unknown[]) => {
          counted.statements += 1;
          return query(...args);
        },
      };
      return { store: new MessageStore(pool as unknown as Sql), counted };
    };
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    const newConversation = async () => (await api.app.prisma.conversation.create({ data: { userId } })).id;

    /**
     * `c` lists each exchange's message then its reply, in the order they were added, each strictly
     * after the last: statements a fraction of a millisecond apart leave no tie to the ids' order
     * (created_at keeps milliseconds).
     */
    const expectListedInTurns = async (c: string, results: Awaited<ReturnType<MessageStore['addExchange']>>[]) => {
      const listed = await api.app.prisma.message.findMany({
        where: { conversationId: c },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        select: { id: true, createdAt: true },
      });
      expect(listed.map((row) => row.id)).toEqual(results.flatMap((r) => [r?.userMessage.id, r?.assistantMessage.id]));
      const times = listed.map((row) => row.createdAt.getTime());
      for (let k = 1; k < times.length; k++) expect(times[k]).toBeGreaterThan(times[k - 1] as number);
    };

    it('share one statement across conversations, each stored as Prisma reads it, a refused one null', async () => {
      const { store: batched, counted } = counting();
      const conversations = await Promise.all([1, 2, 3, 4].map(newConversation));
      const stranger = randomUUID();
      const scope = { where: { conversationId: { in: [...conversations, conversationId] } } };
      const before = await api.app.prisma.message.count(scope);
      const results = await Promise.all([
        ...conversations.map((c, i) => batched.addExchange(userId, c, m(`hello ${i}`), reply)),
        batched.addExchange(stranger, conversationId, m('not yours'), reply),
      ]);
      expect(counted.statements).toBe(1);
      expect(results.at(-1)).toBeNull();
      expect(await api.app.prisma.message.count(scope)).toBe(before + 8);
      for (const [i, c] of conversations.entries()) {
        const exchange = results[i];
        if (!exchange) throw new Error(`exchange ${i} not stored`);
        expect(exchange.userMessage).toEqual(await read(exchange.userMessage.id));
        expect(exchange.assistantMessage).toEqual(await read(exchange.assistantMessage.id));
        expect(exchange.userMessage).toMatchObject({ conversationId: c, content: `hello ${i}`, role: 'USER' });
        expect(exchange.assistantMessage).toMatchObject({ conversationId: c, status: 'STREAMING', role: 'ASSISTANT' });
      }
    });

    it('in one conversation keep their order: each exchange in its own statement, listed message then reply', async () => {
      const { store: batched, counted } = counting();
      const c = await newConversation();
      const results = await Promise.all([1, 2, 3, 4, 5].map((n) => batched.addExchange(userId, c, m(`turn ${n}`), reply)));
      expect(counted.statements).toBe(5);
      await expectListedInTurns(c, results);
    });

    it('in one conversation keep their order across batches: a later turn waits for the earlier statement', async () => {
      const { store: batched } = counting();
      const c = await newConversation();
      const others = await Promise.all([1, 2, 3].map(newConversation));
      // Five turns of the event loop, each adding an exchange to `c` (and one to another conversation,
      // which need not wait): five batches whose statements would otherwise run side by side.
      const pending: Promise<Awaited<ReturnType<MessageStore['addExchange']>>>[] = [];
      const elsewhere: Promise<unknown>[] = [];
      for (let n = 1; n <= 5; n++) {
        pending.push(batched.addExchange(userId, c, m(`turn ${n}`), reply));
        if (n <= 3) elsewhere.push(batched.addExchange(userId, others[n - 1] as string, m('elsewhere'), reply));
        await nextTurn();
      }
      const results = await Promise.all(pending);
      await expectListedInTurns(c, results);
      expect(await Promise.all(elsewhere)).not.toContain(null);
    });

    it('across batches wait only in the conversations an earlier batch is still storing', async () => {
      // The first statement is held until released; the others go through.
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let statements = 0;
      const query = sql.query.bind(sql) as (...args: unknown[]) => Promise<unknown>;
      const gated = new MessageStore({
        query: async (...args: unknown[]) => {
          if (statements++ === 0) await gate;
          return query(...args);
        },
      } as unknown as Sql);
      const [x, y] = await Promise.all([newConversation(), newConversation()]);
      const a = gated.addExchange(userId, x, m('x, first'), reply); // batch A: held
      await nextTurn();
      const b = [
        gated.addExchange(userId, x, m('x, second'), reply),
        gated.addExchange(userId, y, m('y, first'), reply),
      ] as const;
      await nextTurn();
      const c = gated.addExchange(userId, y, m('y, second'), reply); // waits for B's y only, not for A
      const cStored = await Promise.race([c, new Promise((resolve) => setTimeout(() => resolve('waited'), 2_000))]);
      expect(cStored).not.toBe('waited');
      release();
      const [first, second, yFirst, ySecond] = await Promise.all([a, ...b, c]);
      await expectListedInTurns(x, [first, second]);
      await expectListedInTurns(y, [yFirst, ySecond]);
    });

    it('fail one at a time: an exchange PostgreSQL refuses fails only its own caller', async () => {
      const conversations = await Promise.all([1, 2, 3].map(newConversation));
      const results = await Promise.allSettled(
        conversations.map((c, i) => store.addExchange(userId, c, m(i === 1 ? 'nul \u0000 byte' : `fine ${i}`), reply)),
      );
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/0x00/);
      for (const c of [conversations[0], conversations[2]])
        expect(await api.app.prisma.message.count({ where: { conversationId: c } })).toBe(2);
      expect(await api.app.prisma.message.count({ where: { conversationId: conversations[1] } })).toBe(0);
    });
  });
});
