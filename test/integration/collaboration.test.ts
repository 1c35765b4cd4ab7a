/**
 * Shared projects (issue 12, part 1): roles (OWNER, EDITOR, VIEWER) decide every operation through the
 * one access rule; a non-member gets NOT_FOUND, a member above their role FORBIDDEN. Members see the
 * project's conversations and generations; member changes keep an OWNER and are serialized; a
 * removed member's subscriptions end at once on every api instance; a stale versioned write gets
 * CONFLICT with the current state.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  collect,
  gql,
  type RunningApp,
  signUp,
  startApp,
  type TestUser,
  until,
  wsClient,
  rawId,
  codes,
  type GqlResponse,
} from '../helpers/harness.js';

let api: RunningApp;
let other: RunningApp;
let owner: TestUser;
let editor: TestUser;
let viewer: TestUser;
let stranger: TestUser;
let projectId: string;

/** The first error's code, or OK. */
const codeOf = (res: GqlResponse) => codes(res)[0] ?? 'OK';

async function addMember(by: TestUser, project: string, email: string, role: string) {
  return gql(
    api.graphqlUrl,
    'mutation($p: ID!, $e: String!, $r: ProjectRole!) { addProjectMember(projectId: $p, email: $e, role: $r) { role user { id email } } }',
    { p: project, e: email, r: role },
    by.token,
  );
}

async function newProject(by: TestUser, name = 'shared') {
  const res = await gql(
    api.graphqlUrl,
    'mutation($n: String!) { createProject(name: $n, bpm: 90) { id } }',
    { n: name },
    by.token,
  );
  return res.data.createProject.id as string;
}

beforeAll(async () => {
  const env = { REDIS_PREFIX: `${inject('redisPrefix')}collab${randomBytes(3).toString('hex')}:`, CHAT_CHUNK_DELAY_MS: '0' };
  api = await startApp(env);
  other = await startApp(env); // a second api instance on the same Redis and database
  const users = await Promise.all([1, 2, 3, 4].map(() => signUp(api.graphqlUrl)));
  [owner, editor, viewer, stranger] = users as [TestUser, TestUser, TestUser, TestUser];
  projectId = await newProject(owner);
  expect(codeOf(await addMember(owner, projectId, editor.email, 'EDITOR'))).toBe('OK');
  expect(codeOf(await addMember(owner, projectId, viewer.email, 'VIEWER'))).toBe('OK');
});
afterAll(async () => {
  await other?.stop();
  await api?.stop();
});

describe('roles', () => {
  it('show members, each with their role, and the viewer their own role; a stranger sees nothing', async () => {
    const q = 'query($p: ID!) { project(id: $p) { viewerRole members { role user { email } } } }';
    const seen = await gql(api.graphqlUrl, q, { p: projectId }, viewer.token);
    expect(seen.data.project.viewerRole).toBe('VIEWER');
    expect(seen.data.project.members).toEqual([
      { role: 'OWNER', user: { email: owner.email } },
      { role: 'EDITOR', user: { email: editor.email } },
      { role: 'VIEWER', user: { email: viewer.email } },
    ]);
    expect(codeOf(await gql(api.graphqlUrl, q, { p: projectId }, stranger.token))).toBe('NOT_FOUND');
    const listed = async (u: TestUser, role?: string) =>
      (
        await gql(
          api.graphqlUrl,
          'query($r: ProjectRole) { projects(first: 50, role: $r) { edges { node { id } } } }',
          { r: role },
          u.token,
        )
      ).data.projects.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(await listed(editor)).toContain(projectId);
    expect(await listed(editor, 'EDITOR')).toContain(projectId);
    expect(await listed(editor, 'OWNER')).not.toContain(projectId);
    expect(await listed(stranger)).not.toContain(projectId);
  });

  it('decide every operation: NOT_FOUND for a non-member, FORBIDDEN above the role', async () => {
    const conversation = (
      await gql(
        api.graphqlUrl,
        'mutation($p: ID!) { createConversation(projectId: $p, title: "plan") { id } }',
        { p: projectId },
        owner.token,
      )
    ).data.createConversation.id;
    // The project's own things: a finished generation and a track of it, a queued generation.
    const done = await api.app.prisma.generation.create({
      data: { userId: rawId(owner.id), projectId: rawId(projectId), type: 'BEAT', status: 'COMPLETED', input: {} },
    });
    const queued = await api.app.prisma.generation.create({
      data: { userId: rawId(owner.id), projectId: rawId(projectId), type: 'BEAT', status: 'PENDING', input: {} },
    });
    const track = (
      await gql(
        api.graphqlUrl,
        'mutation($p: ID!, $g: ID!) { addTrack(projectId: $p, generationId: $g) { id } }',
        { p: projectId, g: done.id },
        owner.token,
      )
    ).data.addTrack.id;
    // An upload in the project, READY as the worker leaves one.
    const upload = await api.app.prisma.upload.create({
      data: {
        userId: rawId(owner.id),
        projectId: rawId(projectId),
        key: `uploads/${rawId(owner.id)}/${randomUUID()}.wav`,
        filename: 'take.wav',
        contentType: 'audio/wav',
        size: 1000,
        status: 'READY',
        durationSec: 5,
      },
    });
    const uploadId = Buffer.from(`Upload:${upload.id}`).toString('base64');
    // In order: the editor's write ops run after the refused ones, and the removals come last.
    const ops: [string, string, Record<string, unknown>][] = [
      ['read project', 'query($p: ID!) { project(id: $p) { name } }', { p: projectId }],
      ['rename', 'mutation($p: ID!) { updateProject(id: $p, name: "renamed") { name } }', { p: projectId }],
      [
        'chat in it',
        'mutation($c: ID!) { sendMessage(conversationId: $c, content: "hello") { userMessage { id } } }',
        { c: conversation },
      ],
      ['start a conversation', 'mutation($p: ID!) { createConversation(projectId: $p) { id } }', { p: projectId }],
      ['read its conversation', 'query($c: ID!) { conversation(id: $c) { title } }', { c: conversation }],
      ['rename its conversation', 'mutation($c: ID!) { renameConversation(id: $c, title: "t") { id } }', { c: conversation }],
      ['read its generation', 'query($g: ID!) { generation(id: $g) { status } }', { g: done.id }],
      [
        'generate into it',
        'mutation($p: ID!) { generateBeat(input: { genre: "lofi", bpm: 90, key: "A minor", projectId: $p }) { id } }',
        { p: projectId },
      ],
      ['cancel its generation', 'mutation($g: ID!) { cancelGeneration(id: $g) { status } }', { g: queued.id }],
      [
        'add a track',
        'mutation($p: ID!, $g: ID!) { addTrack(projectId: $p, generationId: $g) { id } }',
        { p: projectId, g: done.id },
      ],
      [
        'upload into it',
        'mutation($p: ID!) { createUpload(filename: "v.wav", contentType: "audio/wav", bytes: 1000, projectId: $p) { url } }',
        { p: projectId },
      ],
      [
        'add its upload as a track',
        'mutation($p: ID!, $u: ID!) { addTrack(projectId: $p, uploadId: $u) { id } }',
        { p: projectId, u: uploadId },
      ],
      ['master its upload', 'mutation($u: ID!) { masterTrack(uploadId: $u) { id } }', { u: uploadId }],
      ['change a track', 'mutation($t: ID!) { updateTrack(id: $t, gainDb: -1) { id } }', { t: track }],
      ['remove a track', 'mutation($t: ID!) { removeTrack(id: $t) }', { t: track }],
      [
        'add a member',
        'mutation($p: ID!, $e: String!) { addProjectMember(projectId: $p, email: $e, role: VIEWER) { role } }',
        { p: projectId, e: `nobody-${randomBytes(3).toString('hex')}@example.test` },
      ],
      [
        "change a member's role",
        'mutation($p: ID!, $u: ID!) { updateProjectMember(projectId: $p, userId: $u, role: VIEWER) { role } }',
        { p: projectId, u: owner.id },
      ],
      [
        'remove a member',
        'mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) { id } }',
        { p: projectId, u: owner.id },
      ],
      ['delete its conversation', 'mutation($c: ID!) { deleteConversation(id: $c) }', { c: conversation }],
      ['delete it', 'mutation($p: ID!) { deleteProject(id: $p) }', { p: projectId }],
    ];
    const expected: Record<string, [string, string, string]> = {
      // stranger, viewer, editor
      'read project': ['NOT_FOUND', 'OK', 'OK'],
      rename: ['NOT_FOUND', 'FORBIDDEN', 'OK'],
      'chat in it': ['NOT_FOUND', 'FORBIDDEN', 'OK'],
      'start a conversation': ['NOT_FOUND', 'FORBIDDEN', 'OK'],
      'read its conversation': ['NOT_FOUND', 'OK', 'OK'],
      'rename its conversation': ['NOT_FOUND', 'FORBIDDEN', 'OK'],
      'read its generation': ['NOT_FOUND', 'OK', 'OK'],
      'generate into it': ['NOT_FOUND', 'FORBIDDEN', 'OK'],
      'cancel its generation': ['NOT_FOUND', 'FORBIDDEN', 'OK'],
      'add a track': ['NOT_FOUND', 'FORBIDDEN', 'OK'],
      'upload into it': ['NOT_FOUND', 'FORBIDDEN', 'OK'],
      'add its upload as a track': ['NOT_FOUND', 'FORBIDDEN', 'OK'],
      'master its upload': ['NOT_FOUND', 'FORBIDDEN', 'OK'],
      'change a track': ['NOT_FOUND', 'FORBIDDEN', 'OK'],
      'remove a track': ['NOT_FOUND', 'FORBIDDEN', 'OK'],
      // The owner-only ones.
      'add a member': ['NOT_FOUND', 'FORBIDDEN', 'FORBIDDEN'],
      "change a member's role": ['NOT_FOUND', 'FORBIDDEN', 'FORBIDDEN'],
      'remove a member': ['NOT_FOUND', 'FORBIDDEN', 'FORBIDDEN'],
      'delete its conversation': ['NOT_FOUND', 'FORBIDDEN', 'FORBIDDEN'],
      'delete it': ['NOT_FOUND', 'FORBIDDEN', 'FORBIDDEN'],
    };
    for (const [name, query, variables] of ops) {
      const got = [];
      for (const u of [stranger, viewer, editor]) got.push(codeOf(await gql(api.graphqlUrl, query, variables, u.token)));
      expect([name, ...got]).toEqual([name, ...(expected[name] as string[])]);
    }
    // Leave nothing queued: the workers of other test files reconcile PENDING rows of the shared database.
    await api.app.prisma.generation.updateMany({
      where: { projectId: rawId(projectId), status: { in: ['PENDING', 'PROCESSING'] } },
      data: { status: 'CANCELLED' },
    });
    // Every member sees the project's conversations.
    const listed = await gql(
      api.graphqlUrl,
      'query($p: ID!) { project(id: $p) { conversations(first: 10) { edges { node { id } } } } }',
      { p: projectId },
      viewer.token,
    );
    expect(listed.data.project.conversations.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(conversation);
  });
});

describe('member management', () => {
  it('refuses an unknown email, yourself and an existing member, and keeps a last OWNER', async () => {
    const p = await newProject(owner, 'solo');
    const refused = async (res: Promise<{ errors?: { extensions?: { code?: string; field?: string } }[] }>) => {
      const r = await res;
      return [r.errors?.[0]?.extensions?.code, r.errors?.[0]?.extensions?.field];
    };
    expect(await refused(addMember(owner, p, 'no-such-user@example.test', 'EDITOR'))).toEqual(['BAD_USER_INPUT', 'email']);
    expect(await refused(addMember(owner, p, owner.email, 'EDITOR'))).toEqual(['BAD_USER_INPUT', 'email']);
    expect(codeOf(await addMember(owner, p, editor.email, 'EDITOR'))).toBe('OK');
    expect(await refused(addMember(owner, p, editor.email, 'VIEWER'))).toEqual(['BAD_USER_INPUT', 'email']);
    const ownerId = owner.id;
    const demote = 'mutation($p: ID!, $u: ID!) { updateProjectMember(projectId: $p, userId: $u, role: EDITOR) { role } }';
    expect(await refused(gql(api.graphqlUrl, demote, { p, u: ownerId }, owner.token))).toEqual(['BAD_USER_INPUT', 'role']);
    expect(await refused(gql(api.graphqlUrl, 'mutation($p: ID!) { leaveProject(projectId: $p) }', { p }, owner.token))).toEqual([
      'BAD_USER_INPUT',
      'projectId',
    ]);
    const remove = 'mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) { id } }';
    expect(await refused(gql(api.graphqlUrl, remove, { p, u: ownerId }, owner.token))).toEqual(['BAD_USER_INPUT', 'userId']);
    expect(codeOf(await gql(api.graphqlUrl, remove, { p, u: stranger.id }, owner.token))).toBe('NOT_FOUND');
  });

  it('serializes two OWNERs demoting each other: exactly one wins, and the project keeps an OWNER', async () => {
    const p = await newProject(owner, 'two owners');
    expect(codeOf(await addMember(owner, p, editor.email, 'OWNER'))).toBe('OK');
    const demote = (by: TestUser, target: TestUser) =>
      gql(
        api.graphqlUrl,
        'mutation($p: ID!, $u: ID!) { updateProjectMember(projectId: $p, userId: $u, role: VIEWER) { role } }',
        { p, u: target.id },
        by.token,
      );
    const results = await Promise.all([demote(owner, editor), demote(editor, owner)]);
    // The second runs after the first, under the project's lock: its author is no longer an OWNER.
    expect(results.map(codeOf).sort()).toEqual(['FORBIDDEN', 'OK']);
    const members = await gql(api.graphqlUrl, 'query($p: ID!) { project(id: $p) { members { role } } }', { p }, owner.token);
    expect(members.data.project.members.filter((m: { role: string }) => m.role === 'OWNER')).toHaveLength(1);
  });
});

describe('removal', () => {
  it("ends the removed member's subscriptions on another instance within a second; nothing later reaches them", async () => {
    const p = await newProject(owner, 'removal');
    const member = await signUp(api.graphqlUrl);
    expect(codeOf(await addMember(owner, p, member.email, 'EDITOR'))).toBe('OK');
    const conversation = (
      await gql(api.graphqlUrl, 'mutation($p: ID!) { createConversation(projectId: $p) { id } }', { p }, owner.token)
    ).data.createConversation.id;
    const ws = wsClient(other.wsUrl, member.token);
    const updates = collect(ws.client, 'subscription($p: ID!) { projectUpdated(projectId: $p) { name } }', { p });
    const messages = collect(ws.client, 'subscription($c: ID!) { messageAdded(conversationId: $c) { content } }', {
      c: conversation,
    });
    const rename = (name: string) =>
      gql(
        api.graphqlUrl,
        'mutation($p: ID!, $n: String!) { updateProject(id: $p, name: $n) { name } }',
        { p, n: name },
        owner.token,
      );
    // Both are live: a change reaches the member on the other instance.
    await until(async () => {
      await rename('before');
      return updates.events.length > 0;
    });
    await until(async () => {
      await gql(
        api.graphqlUrl,
        'mutation($c: ID!) { sendMessage(conversationId: $c, content: "before") { userMessage { id } } }',
        { c: conversation },
        owner.token,
      );
      return messages.events.length > 0;
    });

    const removedAt = Date.now();
    const removed = await gql(
      api.graphqlUrl,
      'mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) { id } }',
      { p, u: member.id },
      owner.token,
    );
    expect(codeOf(removed)).toBe('OK');
    await until(() => updates.completed() && messages.completed(), 1_000);
    expect(Date.now() - removedAt).toBeLessThan(1_000);
    const seen = updates.events.length;
    await rename('after');
    await gql(
      api.graphqlUrl,
      'mutation($c: ID!) { sendMessage(conversationId: $c, content: "after") { userMessage { id } } }',
      { c: conversation },
      owner.token,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(updates.events).toHaveLength(seen);
    expect(messages.events.map((e) => JSON.stringify(e))).not.toContain(JSON.stringify({ messageAdded: { content: 'after' } }));
    // And they no longer see the project or its conversation.
    expect(codeOf(await gql(other.graphqlUrl, 'query($p: ID!) { project(id: $p) { name } }', { p }, member.token))).toBe(
      'NOT_FOUND',
    );
    expect(
      codeOf(await gql(other.graphqlUrl, 'query($c: ID!) { conversation(id: $c) { id } }', { c: conversation }, member.token)),
    ).toBe('NOT_FOUND');
    // Nothing is left watching.
    expect(other.app.services.projectAccess.size).toBe(0);
    await ws.client.dispose();
  });

  it('ends a subscription that was being set up while its member was removed', async () => {
    for (let round = 0; round < 5; round++) {
      const p = await newProject(owner, `race ${round}`);
      const member = await signUp(api.graphqlUrl);
      expect(codeOf(await addMember(owner, p, member.email, 'VIEWER'))).toBe('OK');
      const ws = wsClient(other.wsUrl, member.token);
      const updates = collect(ws.client, 'subscription($p: ID!) { projectUpdated(projectId: $p) { name } }', { p });
      // No wait: the removal lands somewhere in the subscription's setup, or after it.
      await gql(
        api.graphqlUrl,
        'mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) { id } }',
        { p, u: member.id },
        owner.token,
      );
      await until(() => updates.completed() || updates.errors.length > 0, 2_000);
      await gql(api.graphqlUrl, 'mutation($p: ID!) { updateProject(id: $p, name: "after") { name } }', { p }, owner.token);
      await new Promise((r) => setTimeout(r, 100));
      expect(updates.events).toEqual([]);
      await ws.client.dispose();
    }
    expect(other.app.services.projectAccess.size).toBe(0);
  });

  it('lets a member who was just added subscribe at once', async () => {
    const p = await newProject(owner, 'join');
    const member = await signUp(api.graphqlUrl);
    expect(codeOf(await addMember(owner, p, member.email, 'VIEWER'))).toBe('OK');
    const ws = wsClient(other.wsUrl, member.token);
    const updates = collect(ws.client, 'subscription($p: ID!) { projectUpdated(projectId: $p) { name } }', { p });
    await until(async () => {
      await gql(api.graphqlUrl, 'mutation($p: ID!) { updateProject(id: $p, name: "hi") { name } }', { p }, owner.token);
      return updates.events.length > 0;
    });
    expect(updates.errors).toEqual([]);
    await ws.client.dispose();
  });
});

describe('concurrent edits', () => {
  it('give the second writer of the same version CONFLICT with the current state, and lose nothing', async () => {
    const p = await newProject(owner, 'versions');
    const read = await gql(api.graphqlUrl, 'query($p: ID!) { project(id: $p) { version bpm } }', { p }, owner.token);
    const version = read.data.project.version as number;
    const update = (by: TestUser, bpm: number) =>
      gql(
        api.graphqlUrl,
        'mutation($p: ID!, $v: Int, $b: Int) { updateProject(id: $p, version: $v, bpm: $b) { version bpm } }',
        { p, v: version, b: bpm },
        by.token,
      );
    const first = await update(owner, 120);
    expect(first.data.updateProject).toEqual({ version: version + 1, bpm: 120 });
    const stale = await update(owner, 100);
    expect(codeOf(stale)).toBe('CONFLICT');
    expect(stale.errors?.[0]?.extensions).toMatchObject({ current: { id: p, version: version + 1, bpm: 120 } });
    // Without a version, the write applies (last writer wins, as before).
    expect(
      (await gql(api.graphqlUrl, 'mutation($p: ID!) { updateProject(id: $p, bpm: 99) { bpm } }', { p }, owner.token)).data
        .updateProject.bpm,
    ).toBe(99);
  });
});
