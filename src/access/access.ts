/**
 * `require`: the one check every id argument goes through. The viewer gets the row, or NOT_FOUND
 * when they may not see it (its existence is not revealed), or FORBIDDEN when they may see it but
 * not do `action`. The rules themselves are in ./rules.ts.
 */
import type { Db } from '../db/client.js';
import type { Conversation, Generation, Message, Prisma, Project, Track, Upload } from '../generated/prisma/client.js';
import { forbidden, notFound } from '../errors.js';
import type { Viewer } from '../modules/auth/viewer.js';
import {
  type Action,
  conversationWhere,
  generationWhere,
  isAdmin,
  messageWhere,
  projectWhere,
  type Resource,
  trackWhere,
  uploadWhere,
} from './rules.js';
import { withFields } from '../with-fields.js';

/** What a lookup may add to the row (include/select); the `where` is the rule's. */
type Query<A> = Omit<A, 'where'>;

/**
 * `find(action)` looks the row up under the rule for `action`. The happy path is one query; only a
 * refusal of `write`/`admin` looks again under `read`, to tell FORBIDDEN from NOT_FOUND.
 */
export async function decide<T>(
  resource: Resource,
  id: string,
  action: Action,
  find: (a: Action) => Promise<T | null>,
): Promise<T> {
  const row = await find(action);
  if (row) return row;
  if (action !== 'read' && (await find('read'))) throw forbidden(`You may not ${action} this ${resource}`);
  throw notFound(resource, id);
}

export class Access {
  constructor(private readonly prisma: Db) {}

  /**
   * Whether `viewer` is an ADMIN now: its token says so and so does the user's row, so taking the
   * role away closes the admin area at once rather than when the token expires.
   */
  async isAdminNow(viewer: Viewer | null): Promise<boolean> {
    if (!viewer || !isAdmin(viewer)) return false;
    return isAdmin(await this.prisma.user.findUnique({ where: { id: viewer.id }, select: { role: true } }));
  }

  readonly project = {
    where: projectWhere,
    require: (viewer: Viewer, id: string, action: Action = 'read', query: Query<Prisma.ProjectFindFirstArgs> = {}) =>
      decide<Project>('Project', id, action, (a) =>
        this.prisma.project.findFirst(withFields(query, { where: { AND: [{ id }, projectWhere(viewer, a)] } })),
      ),
  };

  readonly track = {
    where: trackWhere,
    require: (viewer: Viewer, id: string, action: Action = 'read', query: Query<Prisma.TrackFindFirstArgs> = {}) =>
      decide<Track>('Track', id, action, (a) =>
        this.prisma.track.findFirst(withFields(query, { where: { AND: [{ id }, trackWhere(viewer, a)] } })),
      ),
  };

  readonly conversation = {
    where: conversationWhere,
    require: (viewer: Viewer, id: string, action: Action = 'read', query: Query<Prisma.ConversationFindFirstArgs> = {}) =>
      decide<Conversation>('Conversation', id, action, (a) =>
        this.prisma.conversation.findFirst(withFields(query, { where: { AND: [{ id }, conversationWhere(viewer, a)] } })),
      ),
  };

  readonly message = {
    where: messageWhere,
    require: (viewer: Viewer, id: string, action: Action = 'read', query: Query<Prisma.MessageFindFirstArgs> = {}) =>
      decide<Message>('Message', id, action, (a) =>
        this.prisma.message.findFirst(withFields(query, { where: { AND: [{ id }, messageWhere(viewer, a)] } })),
      ),
    /**
     * A message of `conversationId` that the viewer may read (chatStream's `messageId`): a message of
     * another conversation is NOT_FOUND, even one of the viewer's own.
     */
    requireIn: (viewer: Viewer, conversationId: string, id: string, action: Action = 'read') =>
      decide<Message>('Message', id, action, (a) =>
        this.prisma.message.findFirst({ where: { AND: [{ id, conversationId }, messageWhere(viewer, a)] } }),
      ),
  };

  readonly generation = {
    where: generationWhere,
    require: (viewer: Viewer, id: string, action: Action = 'read', query: Query<Prisma.GenerationFindFirstArgs> = {}) =>
      decide<Generation>('Generation', id, action, (a) =>
        this.prisma.generation.findFirst(withFields(query, { where: { AND: [{ id }, generationWhere(viewer, a)] } })),
      ),
  };

  readonly upload = {
    where: uploadWhere,
    require: (viewer: Viewer, id: string, action: Action = 'read', query: Query<Prisma.UploadFindFirstArgs> = {}) =>
      decide<Upload>('Upload', id, action, (a) =>
        this.prisma.upload.findFirst(withFields(query, { where: { AND: [{ id }, uploadWhere(viewer, a)] } })),
      ),
  };
}
