/**
 * Who may do what: one rule per resource, as data the database can apply. Each rule answers
 * "the rows `viewer` may do `action` on" as a Prisma `where` (for lookups, lists and `node`) and,
 * where SQL is written by hand, as a SQL condition kept beside it so the two cannot drift.
 *
 * A project is its members' (project_members): every member (OWNER, EDITOR, VIEWER) may `read` it,
 * EDITOR and up `write` it, OWNER `admin` it (members, deletion). A conversation or generation made in
 * a project is the project's: whoever may do `action` on the project may do it on them, and its
 * author loses it with their membership; one made outside a project is its author's alone. Tracks and
 * messages follow their project and conversation. A viewer that may read but not act gets FORBIDDEN
 * from `require` (src/access/access.ts); one that may not read gets NOT_FOUND.
 *
 * Stored files follow their generation's rule. A signed URL is a bearer capability (it must work in
 * an <audio src>, with no token), so the rule applies where URLs are issued: they are signed only in
 * `Generation.output`, which only a viewer who may read the generation reaches. The /files route
 * then serves exactly the key that was signed, until it expires; anything else is 403.
 */
import type { Prisma, ProjectRole } from '../generated/prisma/client.js';
import type { Viewer } from '../modules/auth/viewer.js';

/** read: see it; write: change it or add to it; admin: delete it, manage who may use it. */
export type Action = 'read' | 'write' | 'admin';

/** Matches no row: what an anonymous caller may see. */
const NOBODY = { id: { in: [] as string[] } };

/** The roles that may do each action on a project. */
export const ROLES_FOR: Record<Action, ProjectRole[]> = {
  read: ['OWNER', 'EDITOR', 'VIEWER'],
  write: ['OWNER', 'EDITOR'],
  admin: ['OWNER'],
};

export function projectWhere(viewer: Viewer | null, action: Action): Prisma.ProjectWhereInput {
  return viewer ? { members: { some: { userId: viewer.id, role: { in: ROLES_FOR[action] } } } } : NOBODY;
}

/** `projectWhere` as SQL on the `projects` row aliased `alias`; the viewer's id is `viewerParam`. */
export function projectSql(action: Action, alias: string, viewerParam: string): string {
  const roles = ROLES_FOR[action].map((r) => `'${r}'`).join(', ');
  return `EXISTS (SELECT 1 FROM project_members ${alias}_m WHERE ${alias}_m.project_id = ${alias}.id AND ${alias}_m.user_id = ${viewerParam}::uuid AND ${alias}_m.role IN (${roles}))`;
}

/** A track is its project's: reading, editing and removing it are reading and writing the project. */
export function trackWhere(viewer: Viewer | null, action: Action): Prisma.TrackWhereInput {
  return viewer ? { project: projectWhere(viewer, action === 'admin' ? 'write' : action) } : NOBODY;
}

export function conversationWhere(viewer: Viewer | null, action: Action): Prisma.ConversationWhereInput {
  return viewer ? { OR: [{ projectId: null, userId: viewer.id }, { project: projectWhere(viewer, action) }] } : NOBODY;
}

/**
 * `conversationWhere` as a SQL condition on the `conversations` row aliased `alias`, with the
 * viewer's id in the parameter `viewerParam` (e.g. "$2"); for the chat path's statements.
 * test/integration/access-rules.test.ts checks that the two agree.
 */
export function conversationSql(action: Action, alias: string, viewerParam: string): string {
  const project = `SELECT 1 FROM projects ${alias}_p WHERE ${alias}_p.id = ${alias}.project_id AND ${projectSql(action, `${alias}_p`, viewerParam)}`;
  return `((${alias}.project_id IS NULL AND ${alias}.user_id = ${viewerParam}::uuid) OR EXISTS (${project}))`;
}

/** Messages are their conversation's: adding one is writing the conversation. */
export function messageWhere(viewer: Viewer | null, action: Action): Prisma.MessageWhereInput {
  return viewer ? { conversation: conversationWhere(viewer, action) } : NOBODY;
}

export function generationWhere(viewer: Viewer | null, action: Action): Prisma.GenerationWhereInput {
  return viewer ? { OR: [{ projectId: null, userId: viewer.id }, { project: projectWhere(viewer, action) }] } : NOBODY;
}

/**
 * An upload made in a project is the project's, like a generation; one made outside a project is its
 * uploader's alone. Its signed URLs are issued only in `Upload.audioUrl`.
 */
export function uploadWhere(viewer: Viewer | null, action: Action): Prisma.UploadWhereInput {
  return viewer ? { OR: [{ projectId: null, userId: viewer.id }, { project: projectWhere(viewer, action) }] } : NOBODY;
}

/**
 * Operators: the GraphQL `admin` scope (src/graphql/builder.ts) and the admin area (src/http/admin),
 * which reads it on the user's row as well as on the token (Access.isAdminNow).
 */
export const isAdmin = (who: Pick<Viewer, 'role'> | null | undefined): boolean => who?.role === 'ADMIN';

/** Users see themselves, and the members of projects they are a member of (their email and role). */
export function userWhere(viewer: Viewer | null, action: Action): Prisma.UserWhereInput {
  if (!viewer) return NOBODY;
  if (action !== 'read') return { id: viewer.id };
  return { OR: [{ id: viewer.id }, { memberships: { some: { project: projectWhere(viewer, 'read') } } }] };
}

/** The rule of each resource, by GraphQL type name. */
export const rules = {
  Project: projectWhere,
  Track: trackWhere,
  Conversation: conversationWhere,
  Message: messageWhere,
  Generation: generationWhere,
  Upload: uploadWhere,
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
