/**
 * Client mistakes are client errors (issue 16, items 2 and 7): crafted cursors, NUL characters,
 * empty or malformed ids, node lookups of what cannot be seen, and relations of a message that
 * arrived through chatStream. None may give INTERNAL_SERVER_ERROR or write a row.
 */
import { getNamedType, isObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeGlobalId, encodeGlobalId } from '../../src/graphql/ids.js';
import { schema } from '../../src/graphql/schema.js';
import {
  codes,
  collect,
  gql,
  type RunningApp,
  signUp,
  startApp,
  subscribed,
  type TestUser,
  until,
  wsClient,
} from '../helpers/harness.js';

let api: RunningApp;
let alice: TestUser;
let bob: TestUser;
const q = (query: string, variables: Record<string, unknown> = {}, user: TestUser | null = alice) =>
  gql(api.graphqlUrl, query, variables, user?.token);

/**
 * Rows of this file's users in every table the API writes, and any account the signUp cases could
 * make, to show a refused request wrote nothing. (Other test files write to the same database.)
 */
async function rowCounts() {
  const p = api.app.prisma;
  const users = { in: [alice, bob].map((u) => decodeGlobalId(u.id, 'id').id) };
  return Promise.all([
    p.user.count({ where: { email: { in: ['nul@example.test', 'a@example.test'] } } }),
    p.project.count({ where: { ownerId: users } }),
    p.track.count({ where: { project: { ownerId: users } } }),
    p.conversation.count({ where: { userId: users } }),
    p.message.count({ where: { conversation: { userId: users } } }),
    p.generation.count({ where: { userId: users } }),
  ]);
}

let projectId: string;
let conversationId: string;
beforeAll(async () => {
  api = await startApp();
  [alice, bob] = await Promise.all([signUp(api.graphqlUrl), signUp(api.graphqlUrl)]);
  projectId = (await q('mutation { createProject(name: "p") { id } }')).data.createProject.id;
  conversationId = (await q('mutation($p: ID) { createConversation(title: "c", projectId: $p) { id } }', { p: projectId })).data
    .createConversation.id;
});
afterAll(() => api.stop());

/** base64 of Pothos's cursor format around `chunk` ("S:" string, "N:" number...). */
const cursor = (chunk: string) => Buffer.from(`GPC:${chunk}`).toString('base64');

describe('crafted cursors', () => {
  const crafted = [
    'R1BDOlM6bm90YXV1aWQ=', // the issue's: GPC:S:notauuid
    cursor('N:5'),
    cursor('D:2020-01-01T00:00:00.000Z'),
    cursor('J:{"id":1}'),
    cursor("S:' OR 1=1 --"),
    'not base64 at all!',
    '',
  ];
  const connections: Record<string, string> = {
    'Query.conversations': 'query($a: String) { conversations(first: 5, after: $a) { edges { cursor } } }',
    'Query.generations': 'query($a: String) { generations(first: 5, after: $a) { edges { cursor } } }',
    'Query.projects': 'query($a: String) { projects(first: 5, before: $a) { edges { cursor } } }',
    'Conversation.messages':
      'query($a: String, $c: ID!) { conversation(id: $c) { messages(first: 5, after: $a) { edges { cursor } } } }',
    'Project.conversations':
      'query($a: String, $p: ID!) { project(id: $p) { conversations(first: 5, after: $a) { edges { cursor } } } }',
  };
  it('every connection of the schema is tried below', () => {
    const all = Object.values(schema.getTypeMap())
      .filter(isObjectType)
      .flatMap((type) =>
        Object.values(type.getFields())
          .filter((f) => getNamedType(f.type).name.endsWith('Connection') && f.args.some((a) => a.name === 'after'))
          .map((f) => `${type.name}.${f.name}`),
      );
    expect(all.sort()).toEqual(Object.keys(connections).sort());
  });

  it('are BAD_USER_INPUT on every connection, and a real cursor still pages', async () => {
    const nested = [
      'query($a: String, $c: ID!) { node(id: $c) { ... on Conversation { messages(first: 5, after: $a) { edges { cursor } } } } }',
      'query($a: String) { conversations(first: 5) { edges { node { messages(first: 5, after: $a) { edges { cursor } } } } } }',
    ];
    for (const query of [...Object.values(connections), ...nested]) {
      for (const a of crafted) {
        const res = await q(query, { a, c: conversationId, p: projectId });
        expect(codes(res), `${query} after ${a}`).toEqual(['BAD_USER_INPUT']);
      }
    }
    // The request as written, the cursor inline (a literal, not a variable).
    const inline = await q('{ conversations(first: 5, after: "R1BDOlM6bm90YXV1aWQ=") { edges { cursor } } }');
    expect(codes(inline)).toEqual(['BAD_USER_INPUT']);
    await q('mutation { createProject(name: "second") { id } }');
    const first = await q('{ projects(first: 1) { edges { cursor node { name } } } }');
    const next = await q('query($a: String) { projects(first: 1, after: $a) { edges { node { name } } } }', {
      a: first.data.projects.edges[0].cursor,
    });
    expect(next.errors).toBeUndefined();
    expect(next.data.projects.edges[0].node.name).toBe('p');
  });
});

describe('NUL characters', () => {
  it('are BAD_USER_INPUT on the field, in every text input, and write nothing', async () => {
    const before = await rowCounts();
    const cases: [string, Record<string, unknown>, string][] = [
      ['mutation($v: String!) { createProject(name: $v) { id } }', { v: 'a\u0000b' }, 'name'],
      ['mutation($id: ID!, $v: String) { updateProject(id: $id, name: $v) { id } }', { id: projectId, v: '\u0000' }, 'name'],
      ['mutation($v: String) { createConversation(title: $v) { id } }', { v: 'x\u0000' }, 'title'],
      [
        'mutation($id: ID!, $v: String) { renameConversation(id: $id, title: $v) { id } }',
        { id: conversationId, v: '\u0000' },
        'title',
      ],
      [
        'mutation($id: ID!, $v: String!) { sendMessage(conversationId: $id, content: $v) { userMessage { id } } }',
        { id: conversationId, v: 'make a beat\u0000' },
        'content',
      ],
      [
        'mutation($v: String) { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", mood: $v }) { id } }',
        { v: 'dark\u0000' },
        'mood',
      ],
      ['mutation($v: String!) { generateBeat(input: { genre: $v, bpm: 90, key: "Am" }) { id } }', { v: 'lofi\u0000' }, 'genre'],
      [
        'mutation($v: String!) { signUp(email: $v, password: "correct horse battery") { token } }',
        { v: 'a\u0000@example.test' },
        'email',
      ],
      [
        'mutation($v: String!) { signUp(email: "nul@example.test", password: $v) { token } }',
        { v: 'correct horse\u0000' },
        'password',
      ],
      [
        'mutation($v: String!) { logIn(email: $v, password: "correct horse battery") { token } }',
        { v: 'a\u0000@example.test' },
        'email',
      ],
    ];
    for (const [query, variables, field] of cases) {
      const res = await q(query, variables, field === 'email' || field === 'password' ? null : alice);
      expect(codes(res), query).toEqual(['BAD_USER_INPUT']);
      expect(res.errors?.[0]?.extensions?.field, query).toBe(field);
    }
    expect(await rowCounts()).toEqual(before);
  });

  it('so are unpaired surrogates (PostgreSQL refuses them in jsonb): BAD_USER_INPUT on the field, nothing written', async () => {
    const before = await rowCounts();
    for (const v of ['dark\ud800', '\udc00dark', 'a\ud83d']) {
      const res = await q(
        'mutation($v: String) { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", mood: $v }) { id } }',
        { v },
        alice,
      );
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.errors?.[0]?.extensions?.field).toBe('mood');
    }
    // A paired surrogate is a character like any other.
    const ok = await q('mutation($v: String) { createConversation(title: $v) { id } }', { v: 'lo-fi \ud83c\udfa7' }, alice);
    expect(ok.errors).toBeUndefined();
    // Only that conversation was written (rowCounts' fourth count).
    expect(await rowCounts()).toEqual(before.map((n, i) => (i === 3 ? n + 1 : n)));
  });

  it('in a track name too', async () => {
    const generation = await api.app.prisma.generation.create({
      data: { userId: decodeGlobalId(alice.id, 'id').id, type: 'BEAT', input: {}, status: 'COMPLETED' },
    });
    const add = 'mutation($p: ID!, $g: ID!, $n: String) { addTrack(projectId: $p, generationId: $g, name: $n) { id } }';
    const before = await rowCounts();
    const res = await q(add, { p: projectId, g: generation.id, n: 'kick\u0000' });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.extensions?.field).toBe('name');
    expect(await rowCounts()).toEqual(before);
  });
});

describe('empty and malformed ids', () => {
  it('are BAD_USER_INPUT and write nothing, where "" used to mean "no project"', async () => {
    const before = await rowCounts();
    for (const bad of ['', ' ', 'null', 'UHJvamVjdDp4', encodeGlobalId('Conversation', projectId)]) {
      const c = await q('mutation($p: ID) { createConversation(title: "t", projectId: $p) { id } }', { p: bad });
      expect(codes(c), `createConversation ${JSON.stringify(bad)}`).toEqual(['BAD_USER_INPUT']);
      expect(c.errors?.[0]?.extensions?.field).toBe('projectId');
      const g = await q('mutation($p: ID) { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", projectId: $p }) { id } }', {
        p: bad,
      });
      expect(codes(g), `generateBeat ${JSON.stringify(bad)}`).toEqual(['BAD_USER_INPUT']);
      expect(g.errors?.[0]?.extensions?.field).toBe('projectId');
      const s = await q('mutation($c: ID!) { sendMessage(conversationId: $c, content: "hi") { userMessage { id } } }', {
        c: bad,
      });
      expect(codes(s)).toEqual(['BAD_USER_INPUT']);
    }
    // The mutations as written, the empty id inline (generateBeat with the input's required fields).
    for (const query of [
      'mutation { createConversation(projectId: "") { id } }',
      'mutation { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", projectId: "" }) { id } }',
    ]) {
      const res = await q(query);
      expect(codes(res), query).toEqual(['BAD_USER_INPUT']);
      expect(res.errors?.[0]?.extensions?.field, query).toBe('projectId');
    }
    expect(await rowCounts()).toEqual(before);
    // Absent is still absent.
    const none = await q('mutation($p: ID) { createConversation(title: "t", projectId: $p) { project { id } } }', { p: null });
    expect(none.data.createConversation.project).toBeNull();
  });
});

describe('node and nodes', () => {
  it('give null, never an error, for what the viewer cannot resolve', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const unresolvable = [
      projectId, // Alice's, asked by Bob
      conversationId,
      alice.id,
      encodeGlobalId('Project', missing),
      encodeGlobalId('Generation', missing),
      encodeGlobalId('Message', missing),
      encodeGlobalId('Track', missing),
      encodeGlobalId('Nope', missing), // unknown type name
      encodeGlobalId('Stem', missing), // a type that is not a node
      encodeGlobalId('Query', missing),
      'bm90IGFuIGlk', // "not an id"
      '',
      projectId.slice(0, -2),
    ];
    for (const id of unresolvable) {
      const res = await q('query($id: ID!) { node(id: $id) { id } }', { id }, bob);
      expect(res.errors, id).toBeUndefined();
      expect(res.data.node, id).toBeNull();
    }
    const res = await q('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: [...unresolvable, bob.id] }, bob);
    expect(res.errors).toBeUndefined();
    expect(res.data.nodes).toEqual([...unresolvable.map(() => null), { id: bob.id }]);
    // The owner still resolves them.
    const own = await q('query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Project { name } } }', {
      ids: [projectId, conversationId],
    });
    expect(own.data.nodes).toEqual([{ id: projectId, name: 'p' }, { id: conversationId }]);
  });
});

describe('a message that arrived through chatStream', () => {
  it('resolves its conversation and generation', async () => {
    const { client } = wsClient(api.wsUrl, alice.token);
    const sub = collect<{
      chatStream: {
        done: boolean;
        message: { id: string; conversation: { id: string }; generation: { id: string } | null } | null;
      };
    }>(
      client,
      'subscription($c: ID!) { chatStream(conversationId: $c) { done message { id conversation { id title } generation { id type } } } }',
      { c: conversationId },
    );
    await new Promise((r) => setTimeout(r, 150));
    const sent = await q(
      'mutation($c: ID!) { sendMessage(conversationId: $c, content: "make a 90 bpm lofi beat") { generation { id } } }',
      {
        c: conversationId,
      },
    );
    expect(sent.errors).toBeUndefined();
    await until(() => sub.events.some((e) => e.chatStream.done) || sub.errors.length > 0, 15_000);
    expect(sub.errors).toEqual([]);
    const done = sub.events.find((e) => e.chatStream.done)?.chatStream.message;
    expect(done?.conversation).toEqual({ id: conversationId, title: 'c' });
    expect(done?.generation).toEqual({ id: sent.data.sendMessage.generation.id, type: 'BEAT' });
    await client.dispose();
  });

  it('whose conversation the viewer can no longer read is NOT_FOUND, not INTERNAL_SERVER_ERROR', async () => {
    const c = (await q('mutation { createConversation(title: "gone") { id } }')).data.createConversation.id as string;
    const sent = await q('mutation($c: ID!) { sendMessage(conversationId: $c, content: "hello there") { userMessage { id } } }', {
      c,
    });
    const row = await api.app.prisma.message.findUniqueOrThrow({
      where: { id: decodeGlobalId(sent.data.sendMessage.userMessage.id, 'id').id },
    });
    const { client } = wsClient(api.wsUrl, alice.token);
    const sub = collect(client, 'subscription($c: ID!) { messageAdded(conversationId: $c) { id conversation { id } } }', { c });
    await subscribed(api.app, 'messageAdded', row.conversationId);
    await q('mutation($c: ID!) { deleteConversation(id: $c) }', { c });
    // As if the delete landed between storing the message and delivering its event.
    await api.app.services.pubsub.publish('messageAdded', row.conversationId, {
      conversationId: row.conversationId,
      message: row,
    });
    const failure = (await sub.failure()) as { extensions?: { code?: string } }[];
    expect(failure.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    await client.dispose();
  });

  it('so is a project from projectUpdated whose tracks can no longer be read', async () => {
    const p = (await q('mutation { createProject(name: "gone") { id } }')).data.createProject.id as string;
    const row = await api.app.prisma.project.findUniqueOrThrow({ where: { id: decodeGlobalId(p, 'id').id } });
    const { client } = wsClient(api.wsUrl, alice.token);
    const sub = collect<{ projectUpdated: { name: string; tracks: unknown[] } }>(
      client,
      'subscription($p: ID!) { projectUpdated(projectId: $p) { name tracks { id } } }',
      { p },
    );
    await subscribed(api.app, 'projectUpdated', row.id);
    await q('mutation($p: ID!) { deleteProject(id: $p) }', { p });
    await api.app.services.pubsub.publish('projectUpdated', row.id, { projectId: row.id, project: row });
    await until(() => sub.events.length > 0 || sub.errors.length > 0);
    expect(sub.errors).toEqual([]);
    expect(sub.events[0]?.projectUpdated).toEqual({ name: 'gone', tracks: [] });
    await client.dispose();
  });
});
