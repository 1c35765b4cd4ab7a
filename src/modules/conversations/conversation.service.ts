import type { Access } from '../../access/access.js';
import type { Db } from '../../db/client.js';
import type { Conversation } from '../../generated/prisma/client.js';
import type { Viewer } from '../auth/viewer.js';
import { parseInput } from '../../validation.js';
import { createConversationRules } from './conversation.rules.js';

export class ConversationService {
  constructor(private readonly deps: { prisma: Db; access: Access }) {}

  async create(viewer: Viewer, input: { title?: string | null; projectId?: string | null }): Promise<Conversation> {
    const { title } = parseInput(createConversationRules, { title: input.title });
    // Starting a conversation in a project adds to it.
    if (input.projectId != null) await this.deps.access.project.require(viewer, input.projectId, 'write');
    return this.deps.prisma.conversation.create({
      data: { userId: viewer.id, title: title || null, projectId: input.projectId ?? null },
    });
  }

  async rename(viewer: Viewer, id: string, title: string | null): Promise<Conversation> {
    const parsed = parseInput(createConversationRules, { title });
    await this.deps.access.conversation.require(viewer, id, 'write');
    return this.deps.prisma.conversation.update({ where: { id }, data: { title: parsed.title || null } });
  }

  async delete(viewer: Viewer, id: string): Promise<Conversation> {
    await this.deps.access.conversation.require(viewer, id, 'admin');
    return this.deps.prisma.conversation.delete({ where: { id } });
  }
}
