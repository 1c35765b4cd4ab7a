import type { Access } from '../../access/access.js';
import type { Db } from '../../db/client.js';
import type { Project, Track } from '../../generated/prisma/client.js';
import type { Viewer } from '../auth/viewer.js';
import type { PubSub } from '../../pubsub.js';
import { parseInput } from '../../validation.js';
import { badInput } from '../../errors.js';
import { addTrackRules, createProjectRules, PROJECT_MAX_TRACKS, updateProjectRules, updateTrackRules } from './project.rules.js';

export class ProjectService {
  constructor(private readonly deps: { prisma: Db; pubsub: PubSub; access: Access }) {}

  async create(viewer: Viewer, input: { name: string; bpm?: number | null; key?: string | null }): Promise<Project> {
    const data = parseInput(createProjectRules, input);
    return this.deps.prisma.project.create({ data: { ...data, ownerId: viewer.id } });
  }

  async update(viewer: Viewer, id: string, input: { name?: string | null; bpm?: number | null; key?: string | null }) {
    const data = parseInput(updateProjectRules, input);
    await this.deps.access.project.require(viewer, id, 'write');
    const project = await this.deps.prisma.project.update({
      where: { id },
      data: { name: data.name ?? undefined, bpm: data.bpm ?? undefined, key: data.key ?? undefined },
    });
    await this.changed(project);
    return project;
  }

  async delete(viewer: Viewer, id: string): Promise<Project> {
    await this.deps.access.project.require(viewer, id, 'admin');
    return this.deps.prisma.project.delete({ where: { id } });
  }

  async addTrack(
    viewer: Viewer,
    projectId: string,
    generationId: string,
    input: { name?: string | null; gainDb?: number | null; pan?: number | null },
  ): Promise<Track> {
    const data = parseInput(addTrackRules, input);
    await this.deps.access.project.require(viewer, projectId, 'write');
    const generation = await this.deps.access.generation.require(viewer, generationId, 'read');
    // The project row is locked while counting, so concurrent adds cannot pass the cap together.
    const track = await this.deps.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT 1 FROM projects WHERE id = ${projectId}::uuid FOR UPDATE`;
      const tracks = await tx.track.aggregate({ where: { projectId }, _count: true, _max: { position: true } });
      if (tracks._count >= PROJECT_MAX_TRACKS)
        throw badInput('projectId', `a project holds at most ${PROJECT_MAX_TRACKS} tracks; remove one first`);
      const position = (tracks._max.position ?? -1) + 1;
      return tx.track.create({
        data: {
          projectId,
          generationId,
          name: data.name ?? `${generation.type.toLowerCase()} ${position + 1}`,
          gainDb: data.gainDb ?? 0,
          pan: data.pan ?? 0,
          position,
        },
      });
    });
    await this.touch(projectId);
    return track;
  }

  async updateTrack(
    viewer: Viewer,
    trackId: string,
    input: {
      name?: string | null;
      gainDb?: number | null;
      pan?: number | null;
      muted?: boolean | null;
      position?: number | null;
    },
  ): Promise<Track> {
    const data = parseInput(updateTrackRules, input);
    const existing = await this.deps.access.track.require(viewer, trackId, 'write');
    const track = await this.deps.prisma.track.update({
      where: { id: trackId },
      data: {
        name: data.name ?? undefined,
        gainDb: data.gainDb ?? undefined,
        pan: data.pan ?? undefined,
        muted: data.muted ?? undefined,
        position: data.position ?? undefined,
      },
    });
    await this.touch(existing.projectId);
    return track;
  }

  async removeTrack(viewer: Viewer, trackId: string): Promise<Track> {
    const track = await this.deps.access.track.require(viewer, trackId, 'admin');
    await this.deps.prisma.track.delete({ where: { id: trackId } });
    await this.touch(track.projectId);
    return track;
  }

  /** Bumps updatedAt and tells projectUpdated subscribers. */
  private async touch(projectId: string): Promise<void> {
    const project = await this.deps.prisma.project.update({ where: { id: projectId }, data: { updatedAt: new Date() } });
    await this.changed(project);
  }

  private changed(project: Project): Promise<void> {
    return this.deps.pubsub.publish('projectUpdated', project.id, { projectId: project.id, project });
  }
}
