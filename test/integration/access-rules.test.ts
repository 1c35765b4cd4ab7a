/**
 * The access rules as the database applies them: the chat store's SQL condition decides exactly as
 * the Prisma `where` beside it, for every viewer, action and kind of conversation, including one an
 * author wrote in someone else's project (which the API cannot make today, but project members will).
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
  const [a, b] = await Promise.all([user(), user()]);
  const pa = await p.project.create({ data: { ownerId: a.id, name: 'a' } });
  const conversation = (userId: string, projectId: string | null) =>
    p.conversation.create({ data: { userId, projectId } }).then((c) => c.id);
  Object.assign(ids, {
    a: a.id,
    b: b.id,
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
      const a = await visible(ids.a as string, action);
      const b = await visible(ids.b as string, action);
      // The project's owner reaches every conversation of the project; an author their own.
      expect(a, action).toEqual({
        prisma: ['aAlone', 'aInOwnProject', 'bInAsProject'],
        sql: ['aAlone', 'aInOwnProject', 'bInAsProject'],
      });
      expect(b, action).toEqual({ prisma: ['bInAsProject', 'bAlone'], sql: ['bInAsProject', 'bAlone'] });
    }
  });

  it('lets no one without a viewer see anything', async () => {
    expect(await api.app.prisma.conversation.count({ where: conversationWhere(null, 'read') })).toBe(0);
    expect(await api.app.prisma.generation.count({ where: generationWhere(null, 'read') })).toBe(0);
  });
});

describe('generation rule', () => {
  it("reaches a generation through its author and through its project's owner, and no one else", async () => {
    const who = async (viewerId: string) =>
      api.app.prisma.generation.count({
        where: { AND: [{ id: ids.genBInAsProject }, generationWhere(viewer(viewerId), 'read')] },
      });
    expect(await who(ids.a as string)).toBe(1);
    expect(await who(ids.b as string)).toBe(1);
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
