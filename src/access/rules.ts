/**
 * Who may do what: one rule per resource, as data the database can apply. Each rule answers
 * "the rows `viewer` may do `action` on" as a Prisma `where` (for lookups, lists and `node`) and,
 * where SQL is written by hand, as a SQL condition kept beside it so the two cannot drift.
 *
 * A conversation or generation is its author's, and also its project's: whoever may do `action` on
 * the project may do it on them (tracks and messages follow their project and conversation). Today a
 * project's only member is its owner, so that is the author again. The roles of the collaboration
 * work plug into `projectWhere`/`projectSql` alone: members (OWNER, EDITOR, VIEWER) get `read`,
 * EDITOR and up `write`, OWNER `admin`, and every resource of the project follows. A viewer that may
 * read but not act gets FORBIDDEN from `require` (src/access/access.ts); one that may not read gets
 * NOT_FOUND.
 *
 * Stored files follow their generation's rule. A signed URL is a bearer capability (it must work in
 * an <audio src>, with no token), so the rule applies where URLs are issued: they are signed only in
 * `Generation.output`, which only a viewer who may read the generation reaches. The /files route
 * then serves exactly the key that was signed, until it expires; anything else is 403.
 */
import type { Prisma } from '../generated/prisma/client.js';
import type { Viewer } from '../modules/auth/viewer.js';

/** read: see it; write: change it or add to it; admin: delete it, manage who may use it. */
export type Action = 'read' | 'write' | 'admin';

/** Matches no row: what an anonymous caller may see. */
const NOBODY = { id: { in: [] as string[] } };

export function projectWhere(viewer: Viewer | null, _action: Action): Prisma.ProjectWhereInput {
  return viewer ? { ownerId: viewer.id } : NOBODY;
}

/** `projectWhere` as SQL on the `projects` row aliased `alias`; the viewer's id is `viewerParam`. */
export function projectSql(_action: Action, alias: string, viewerParam: string): string {
  return `${alias}.owner_id = ${viewerParam}::uuid`;
}

/** A track is its project's: reading, editing and removing it are reading and writing the project. */
export function trackWhere(viewer: Viewer | null, action: Action): Prisma.TrackWhereInput {
  return viewer ? { project: projectWhere(viewer, action === 'admin' ? 'write' : action) } : NOBODY;
}

export function conversationWhere(viewer: Viewer | null, action: Action): Prisma.ConversationWhereInput {
  return viewer ? { OR: [{ userId: viewer.id }, { project: projectWhere(viewer, action) }] } : NOBODY;
}

/**
 * `conversationWhere` as a SQL condition on the `conversations` row aliased `alias`, with the
 * viewer's id in the parameter `viewerParam` (e.g. "$2"); for the chat path's statements.
 * test/integration/access-rules.test.ts checks that the two agree.
 */
export function conversationSql(action: Action, alias: string, viewerParam: string): string {
  const project = `SELECT 1 FROM projects ${alias}_p WHERE ${alias}_p.id = ${alias}.project_id AND ${projectSql(action, `${alias}_p`, viewerParam)}`;
  return `(${alias}.user_id = ${viewerParam}::uuid OR EXISTS (${project}))`;
}

/** Messages are their conversation's: adding one is writing the conversation. */
export function messageWhere(viewer: Viewer | null, action: Action): Prisma.MessageWhereInput {
  return viewer ? { conversation: conversationWhere(viewer, action) } : NOBODY;
}

export function generationWhere(viewer: Viewer | null, action: Action): Prisma.GenerationWhereInput {
  return viewer ? { OR: [{ userId: viewer.id }, { project: projectWhere(viewer, action) }] } : NOBODY;
}

/**
 * Operators: the GraphQL `admin` scope (src/graphql/builder.ts) and the admin area (src/http/admin),
 * which reads it on the user's row as well as on the token (Access.isAdminNow).
 */
export const isAdmin = (who: Pick<Viewer, 'role'> | null | undefined): boolean => who?.role === 'ADMIN';

/** Users see only themselves. */
export function userWhere(viewer: Viewer | null, _action: Action): Prisma.UserWhereInput {
  return viewer ? { id: viewer.id } : NOBODY;
}

/** The rule of each resource, by GraphQL type name. */
export const rules = {
  Project: projectWhere,
  Track: trackWhere,
  Conversation: conversationWhere,
  Message: messageWhere,
  Generation: generationWhere,
  User: userWhere,
} as const;

export type Resource = keyof typeof rules;

/**
 * The `where` of a lookup by id that the rule also filters (a unique lookup may carry extra
 * conditions): for `node(id:)`, which finds by id and must find nothing the viewer may not read.
 */
export function byId<R extends Resource>(resource: R, viewer: Viewer | null, id: string, action: Action = 'read') {
  return { id, AND: [rules[resource](viewer, action)] } as { id: string; AND: ReturnType<(typeof rules)[R]>[] };
}
