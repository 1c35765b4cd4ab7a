/**
 * The access rules as the database applies them: the chat store's SQL condition decides exactly as
 * the Prisma `where` beside it, for every viewer (an OWNER, an EDITOR, a VIEWER, and an author who is
 * no longer a member), action and kind of conversation.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Action, conversationSql, conversationWhere, generationWhere } from '../../src/access/rules.js';
import { createPool, type Sql } from '../../src/db/client.js';
import { type RunningApp, startApp, testConfig } from '../helpers/harness.js';

let api: RunningApp;
let sql: Sql;
const ids: Record<string, string> = {};
beforeAll(async () => {
  api = await startApp();
  sql = createPool(testConfig());
  const p = api.app.prisma;
  const user = () => p.user.create({ data: { email: `rules-${randomUUID()}@example.test`, passwordHash: 'x' } });
  const [a, b, c, d] = await Promise.all([user(), user(), user(), user()]);
  // a owns it, c edits, d views; b wrote in it but is not a member (any more).
  const pa = await p.project.create({
    data: {
      ownerId: a.id,
      name: 'a',
      members: {
        create: [
          { userId: a.id, role: 'OWNER' },
          { userId: c.id, role: 'EDITOR' },
          { userId: d.id, role: 'VIEWER' },
        ],
      },
    },
  });
  const conversation = (userId: string, projectId: string | null) =>
    p.conversation.create({ data: { userId, projectId } }).then((c) => c.id);
  Object.assign(ids, {
    a: a.id,
    b: b.id,
    c: c.id,
    d: d.id,
    aAlone: await conversation(a.id, null),
    aInOwnProject: await conversation(a.id, pa.id),
    bInAsProject: await conversation(b.id, pa.id),
    bAlone: await conversation(b.id, null),
    genBInAsProject: (await p.generation.create({ data: { userId: b.id, projectId: pa.id, type: 'BEAT', input: {} } })).id,
  });
});
afterAll(async () => {
  await sql.end();
  await api.stop();
});

const viewer = (id: string) => ({ id, role: 'USER' as const });
const CONVERSATIONS = ['aAlone', 'aInOwnProject', 'bInAsProject', 'bAlone'];

async function visible(viewerId: string, action: Action) {
  const byPrisma = await api.app.prisma.conversation.findMany({
    where: { AND: [{ id: { in: CONVERSATIONS.map((k) => ids[k] as string) } }, conversationWhere(viewer(viewerId), action)] },
    select: { id: true },
  });
  const bySql = await sql.query<{ id: string }>(
    `SELECT c.id FROM conversations c WHERE c.id = ANY($1::uuid[]) AND ${conversationSql(action, 'c', '$2')}`,
    [CONVERSATIONS.map((k) => ids[k]), viewerId],
  );
  const names = (rows: { id: string }[]) => CONVERSATIONS.filter((k) => rows.some((r) => r.id === ids[k]));
  return { prisma: names(byPrisma), sql: names(bySql.rows) };
}

describe('conversation rule', () => {
  it('is the same in SQL and in Prisma, for every viewer and action', async () => {
    for (const action of ['read', 'write', 'admin'] as const) {
      const both = (names: string[]) => ({ prisma: names, sql: names });
      const inProject = ['aInOwnProject', 'bInAsProject'];
      // The OWNER reaches every conversation of the project, and their own.
      expect(await visible(ids.a as string, action), action).toEqual(both(['aAlone', ...inProject]));
      // An author outside the project keeps only what they wrote outside projects.
      expect(await visible(ids.b as string, action), action).toEqual(both(['bAlone']));
      // The EDITOR may read and write the project's conversations; the VIEWER only read them.
      expect(await visible(ids.c as string, action), action).toEqual(both(action === 'admin' ? [] : inProject));
      expect(await visible(ids.d as string, action), action).toEqual(both(action === 'read' ? inProject : []));
    }
  });

  it('lets no one without a viewer see anything', async () => {
    expect(await api.app.prisma.conversation.count({ where: conversationWhere(null, 'read') })).toBe(0);
    expect(await api.app.prisma.generation.count({ where: generationWhere(null, 'read') })).toBe(0);
  });
});

describe('generation rule', () => {
  it("reaches a project's generation through the project's members, not an author who left, and no one else", async () => {
    const who = async (viewerId: string) =>
      api.app.prisma.generation.count({
        where: { AND: [{ id: ids.genBInAsProject }, generationWhere(viewer(viewerId), 'read')] },
      });
    expect(await who(ids.a as string)).toBe(1);
    expect(await who(ids.c as string)).toBe(1);
    expect(await who(ids.d as string)).toBe(1);
    expect(await who(ids.b as string)).toBe(0);
    expect(await who(randomUUID())).toBe(0);
  });
});

describe('a message named with its conversation (chatStream messageId)', () => {
  it('is found only in that conversation, and only by who may read it; anything else is NOT_FOUND', async () => {
    const p = api.app.prisma;
    const message = await p.message.create({ data: { conversationId: ids.aAlone as string, role: 'USER', content: 'hi' } });
    const { access } = api.app.services;
    const code = (promise: Promise<unknown>) =>
      promise.then(
        () => 'ok',
        (e) => e.extensions?.code,
      );
    await expect(access.message.requireIn(viewer(ids.a as string), ids.aAlone as string, message.id)).resolves.toMatchObject({
      id: message.id,
    });
    // The viewer's own message, named with another of their conversations.
    expect(await code(access.message.requireIn(viewer(ids.a as string), ids.aInOwnProject as string, message.id))).toBe(
      'NOT_FOUND',
    );
    expect(await code(access.message.requireIn(viewer(ids.b as string), ids.aAlone as string, message.id))).toBe('NOT_FOUND');
    expect(await code(access.message.requireIn(viewer(ids.b as string), ids.bAlone as string, message.id))).toBe('NOT_FOUND');
  });
});
