import type { Db } from '../../db/client.js';
import type { Generation, Prisma } from '../../generated/prisma/client.js';
import { notFound } from '../../errors.js';
import type { Viewer } from '../auth/viewer.js';

type GenerationQuery = Omit<Prisma.GenerationFindFirstArgs, 'where'>;

export class GenerationService {
  constructor(private readonly deps: { prisma: Db }) {}

  /** The one ownership check for generations: someone else's is NOT_FOUND. */
  async requireOwned(viewer: Viewer, id: string, query: GenerationQuery = {}): Promise<Generation> {
    const generation = await this.deps.prisma.generation.findFirst({ ...query, where: { id, userId: viewer.id } });
    if (!generation) throw notFound('Generation', id);
    return generation;
  }
}
