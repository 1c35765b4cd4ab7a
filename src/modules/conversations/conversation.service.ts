import type { Db } from '../../db/client.js';
import type { Conversation, Prisma } from '../../generated/prisma/client.js';
import { notFound } from '../../errors.js';
import type { Viewer } from '../auth/viewer.js';
import { parseInput } from '../../validation.js';
import type { ProjectService } from '../projects/project.service.js';
import { createConversationRules } from './conversation.rules.js';

type ConversationQuery = Omit<Prisma.ConversationFindFirstArgs, 'where'>;

export class ConversationService {
  constructor(private readonly deps: { prisma: Db; projects: ProjectService }) {}

  /** The one ownership check for conversations: someone else's is NOT_FOUND. */
  async requireOwned(viewer: Viewer, id: string, query: ConversationQuery = {}): Promise<Conversation> {
    const conversation = await this.deps.prisma.conversation.findFirst({ ...query, where: { id, userId: viewer.id } });
    if (!conversation) throw notFound('Conversation', id);
    return conversation;
  }

  async create(viewer: Viewer, input: { title?: string | null; projectId?: string | null }): Promise<Conversation> {
    const { title } = parseInput(createConversationRules, { title: input.title });
    if (input.projectId) await this.deps.projects.requireOwned(viewer, input.projectId);
    return this.deps.prisma.conversation.create({
      data: { userId: viewer.id, title: title || null, projectId: input.projectId ?? null },
    });
  }

  async rename(viewer: Viewer, id: string, title: string | null): Promise<Conversation> {
    const parsed = parseInput(createConversationRules, { title });
    await this.requireOwned(viewer, id);
    return this.deps.prisma.conversation.update({ where: { id }, data: { title: parsed.title || null } });
  }

  async delete(viewer: Viewer, id: string): Promise<Conversation> {
    await this.requireOwned(viewer, id);
    return this.deps.prisma.conversation.delete({ where: { id } });
  }
}
