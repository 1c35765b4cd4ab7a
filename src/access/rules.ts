/**
 * Who may do what: one rule per resource, as data the database can apply. Each rule answers
 * "the rows `viewer` may do `action` on" as a Prisma `where` (for lookups, lists and `node`) and,
 * where SQL is written by hand, as a SQL condition kept beside it so the two cannot drift.
 *
 * Today a resource belongs to one user and only that user may do anything with it. The roles of the
 * collaboration work plug in here and nowhere else: a project's members (OWNER, EDITOR, VIEWER) get
 * `read` on the project and on its tracks, conversations, messages and generations, EDITOR and up
 * get `write`, and OWNER gets `admin`. A viewer that may read but not act gets FORBIDDEN from
 * `require` (src/access/access.ts); one that may not read gets NOT_FOUND.
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

/** A track is its project's: reading, editing and removing it are reading and writing the project. */
export function trackWhere(viewer: Viewer | null, action: Action): Prisma.TrackWhereInput {
  return viewer ? { project: projectWhere(viewer, action === 'admin' ? 'write' : action) } : NOBODY;
}

export function conversationWhere(viewer: Viewer | null, _action: Action): Prisma.ConversationWhereInput {
  return viewer ? { userId: viewer.id } : NOBODY;
}

/**
 * `conversationWhere` as a SQL condition on the `conversations` row aliased `alias`, with the
 * viewer's id in the parameter `viewerParam` (e.g. "$2"); for the chat path's statements.
 */
export function conversationSql(_action: Action, alias: string, viewerParam: string): string {
  return `${alias}.user_id = ${viewerParam}::uuid`;
}

/** Messages are their conversation's: adding one is writing the conversation. */
export function messageWhere(viewer: Viewer | null, action: Action): Prisma.MessageWhereInput {
  return viewer ? { conversation: conversationWhere(viewer, action) } : NOBODY;
}

export function generationWhere(viewer: Viewer | null, _action: Action): Prisma.GenerationWhereInput {
  return viewer ? { userId: viewer.id } : NOBODY;
}

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
