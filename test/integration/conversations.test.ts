import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, type GqlResponse, gql, type RunningApp, signUp, startApp, type TestUser, rawId } from '../helpers/harness.js';

const CREATE = 'mutation($t: String, $p: ID) { createConversation(title: $t, projectId: $p) { id title project { id } } }';
const GET =
  'query($id: ID!) { conversation(id: $id) { id title messages(first: 10) { totalCount edges { node { content role } } } } }';
const LIST = `query($first: Int, $after: String) {
  conversations(first: $first, after: $after) { edges { cursor node { id title } } pageInfo { hasNextPage endCursor } }
}`;

let api: RunningApp;
let alice: TestUser;
let bob: TestUser;
beforeAll(async () => {
  api = await startApp({}, { logQueries: true });
  [alice, bob] = await Promise.all([signUp(api.graphqlUrl), signUp(api.graphqlUrl)]);
});
afterAll(() => api.stop());

async function seedMessages(conversationGlobalId: string, count: number) {
  const conversationId = rawId(conversationGlobalId);
  for (let i = 0; i < count; i++) {
    await api.app.prisma.message.create({
      data: { conversationId, role: i % 2 ? 'ASSISTANT' : 'USER', content: `message ${i}`, createdAt: new Date(Date.now() + i) },
    });
  }
}

describe('conversations', () => {
  it('creates a conversation and reads it back with its messages, oldest first', async () => {
    const created = await gql(api.graphqlUrl, CREATE, { t: 'late night beats' }, alice.token);
    expect(created.errors).toBeUndefined();
    const id = created.data.createConversation.id;
    await seedMessages(id, 3);
    const res = await gql(api.graphqlUrl, GET, { id }, alice.token);
    expect(res.data.conversation.title).toBe('late night beats');
    expect(res.data.conversation.messages.totalCount).toBe(3);
    expect(res.data.conversation.messages.edges.map((e: { node: { content: string } }) => e.node.content)).toEqual([
      'message 0',
      'message 1',
      'message 2',
    ]);
  });

  it('pages through conversations newest first with Relay cursors, no gaps or repeats', async () => {
    const user = await signUp(api.graphqlUrl);
    for (let i = 0; i < 5; i++) await gql(api.graphqlUrl, CREATE, { t: `c${i}` }, user.token);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 3; page++) {
      const res: GqlResponse = await gql(api.graphqlUrl, LIST, { first: 2, after }, user.token);
      const conn = res.data?.conversations as {
        edges: { node: { title: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
      seen.push(...conn.edges.map((e) => e.node.title));
      expect(conn.pageInfo.hasNextPage).toBe(page < 2);
      after = conn.pageInfo.endCursor;
    }
    expect(seen).toEqual(['c4', 'c3', 'c2', 'c1', 'c0']);
  });

  it('rejects an invalid cursor and an oversized page as BAD_USER_INPUT', async () => {
    const bad = await gql(api.graphqlUrl, LIST, { first: 2, after: 'not-a-cursor' }, alice.token);
    expect(codes(bad)).toEqual(['BAD_USER_INPUT']);
    const negative = await gql(api.graphqlUrl, LIST, { first: -1 }, alice.token);
    expect(codes(negative)).toEqual(['BAD_USER_INPUT']);
  });

  it('rejects an oversized title and stores nothing', async () => {
    const mine = () => api.app.prisma.conversation.count({ where: { userId: rawId(alice.id) } });
    const before = await mine();
    const res = await gql(api.graphqlUrl, CREATE, { t: 'x'.repeat(201) }, alice.token);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.extensions?.field).toBe('title');
    expect(await mine()).toBe(before);
  });

  it('answers malformed ids and ids of another type with BAD_USER_INPUT naming the argument', async () => {
    const garbage = await gql(api.graphqlUrl, GET, { id: 'garbage!' }, alice.token);
    expect(codes(garbage)).toEqual(['BAD_USER_INPUT']);
    expect(garbage.errors?.[0]?.extensions?.field).toBe('id');
    const project = await gql(api.graphqlUrl, 'mutation { createProject(name: "p") { id } }', {}, alice.token);
    const wrongType = await gql(api.graphqlUrl, GET, { id: project.data.createProject.id }, alice.token);
    expect(codes(wrongType)).toEqual(['BAD_USER_INPUT']);
    expect(wrongType.errors?.[0]?.message).toMatch(/not a Conversation id/);
  });

  it('accepts a bare uuid as well as the global id', async () => {
    const created = await gql(api.graphqlUrl, CREATE, { t: 'bare' }, alice.token);
    const id = created.data.createConversation.id;
    const res = await gql(api.graphqlUrl, GET, { id: rawId(id) }, alice.token);
    expect(res.data.conversation.id).toBe(id);
  });
});

describe('ownership', () => {
  it("hides another user's conversation as NOT_FOUND, everywhere", async () => {
    const created = await gql(api.graphqlUrl, CREATE, { t: 'private' }, alice.token);
    const id = created.data.createConversation.id;
    const asBob = await gql(api.graphqlUrl, GET, { id }, bob.token);
    expect(codes(asBob)).toEqual(['NOT_FOUND']);
    expect(asBob.data?.conversation).toBeNull();
    const node = await gql(api.graphqlUrl, 'query($id: ID!) { node(id: $id) { id } }', { id }, bob.token);
    expect(node.data.node).toBeNull();
    const rename = await gql(
      api.graphqlUrl,
      'mutation($id: ID!) { renameConversation(id: $id, title: "mine") { id } }',
      { id },
      bob.token,
    );
    expect(codes(rename)).toEqual(['NOT_FOUND']);
    const del = await gql(api.graphqlUrl, 'mutation($id: ID!) { deleteConversation(id: $id) }', { id }, bob.token);
    expect(codes(del)).toEqual(['NOT_FOUND']);
    const mine = await gql(api.graphqlUrl, GET, { id }, alice.token);
    expect(mine.data.conversation.title).toBe('private');
    const list = await gql(api.graphqlUrl, LIST, { first: 100 }, bob.token);
    expect(list.data.conversations.edges.map((e: { node: { id: string } }) => e.node.id)).not.toContain(id);
  });

  it("refuses to attach a conversation to another user's project", async () => {
    const project = await gql(api.graphqlUrl, 'mutation { createProject(name: "alice only") { id } }', {}, alice.token);
    const bobs = () => api.app.prisma.conversation.count({ where: { userId: rawId(bob.id) } });
    const before = await bobs();
    const res = await gql(api.graphqlUrl, CREATE, { t: 'sneaky', p: project.data.createProject.id }, bob.token);
    expect(codes(res)).toEqual(['NOT_FOUND']);
    expect(await bobs()).toBe(before);
  });
});

describe('no N+1', () => {
  it('reads conversations → messages with a number of SQL queries that does not grow with the page size', async () => {
    const user = await signUp(api.graphqlUrl);
    for (let i = 0; i < 12; i++) {
      const c = await gql(api.graphqlUrl, CREATE, { t: `n${i}` }, user.token);
      await seedMessages(c.data.createConversation.id, 3);
    }
    const prisma = api.app.prisma as unknown as { $on(event: 'query', cb: (e: { query: string }) => void): void };
    let counting = false;
    const queries: string[] = [];
    prisma.$on('query', (e) => {
      if (counting) queries.push(e.query);
    });
    const NESTED = `query($first: Int) { conversations(first: $first) { edges { node { id title
      messages(first: 5) { edges { node { id content role generation { id } } } } } } } }`;
    const countFor = async (first: number) => {
      queries.length = 0;
      counting = true;
      const res = await gql(api.graphqlUrl, NESTED, { first }, user.token);
      counting = false;
      expect(res.errors).toBeUndefined();
      expect(res.data.conversations.edges).toHaveLength(first);
      return queries.length;
    };
    const small = await countFor(2);
    const large = await countFor(12);
    expect(small).toBeGreaterThan(0);
    expect(large).toBe(small);
  });
});
