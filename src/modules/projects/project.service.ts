import type { Access } from '../../access/access.js';
import { announceProject, touchProject } from './project-events.js';
import type { Db } from '../../db/client.js';
import type { Project, Track } from '../../generated/prisma/client.js';
import type { Viewer } from '../auth/viewer.js';
import type { PubSub } from '../../pubsub.js';
import { parseInput } from '../../validation.js';
import { badInput, conflict, notFound } from '../../errors.js';
import { encodeGlobalId } from '../../graphql/ids.js';
import { requireOneSource, requireReadyUpload } from '../uploads/ready-upload.js';
import { addTrackRules, createProjectRules, PROJECT_MAX_TRACKS, updateProjectRules, updateTrackRules } from './project.rules.js';
import { withFields } from '../../with-fields.js';

export class ProjectService {
  constructor(private readonly deps: { prisma: Db; pubsub: PubSub; access: Access }) {}

  async create(viewer: Viewer, input: { name: string; bpm?: number | null; key?: string | null }): Promise<Project> {
    const data = parseInput(createProjectRules, input);
    // The creator is its first OWNER.
    return this.deps.prisma.project.create({
      data: { ...data, ownerId: viewer.id, members: { create: { userId: viewer.id, role: 'OWNER' } } },
    });
  }

  /** `version`, when given, must be the stored one (else CONFLICT with the project as it is now). */
  async update(
    viewer: Viewer,
    id: string,
    input: { version?: number | null; name?: string | null; bpm?: number | null; key?: string | null },
  ) {
    const data = parseInput(updateProjectRules, input);
    await this.deps.access.project.require(viewer, id, 'write');
    const changes = { name: data.name ?? undefined, bpm: data.bpm ?? undefined, key: data.key ?? undefined };
    const project = await this.versioned('project', id, data.version, (where) =>
      this.deps.prisma.project.updateMany({ where, data: withFields(changes, { version: { increment: 1 } }) }),
    );
    await announceProject(this.deps.pubsub, project, { kind: 'PROJECT_UPDATED', byUserId: viewer.id });
    return project;
  }

  async delete(viewer: Viewer, id: string): Promise<Project> {
    await this.deps.access.project.require(viewer, id, 'admin');
    return this.deps.prisma.project.delete({ where: { id } });
  }

  async addTrack(
    viewer: Viewer,
    projectId: string,
    source: { generationId: string | null; uploadId: string | null },
    input: { name?: string | null; gainDb?: number | null; pan?: number | null },
  ): Promise<Track> {
    const data = parseInput(addTrackRules, input);
    requireOneSource(source);
    await this.deps.access.project.require(viewer, projectId, 'write');
    // What the track plays: a generation the viewer may read, or a READY upload they may read.
    const { generationId, uploadId } = source;
    const defaultName = generationId
      ? (await this.deps.access.generation.require(viewer, generationId, 'read')).type.toLowerCase()
      : (await requireReadyUpload(this.deps.access, viewer, uploadId as string, 'uploadId')).filename.replace(/\.[^.]+$/, '');
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
          uploadId,
          name: data.name ?? (generationId ? `${defaultName} ${position + 1}` : defaultName.slice(0, 200)),
          gainDb: data.gainDb ?? 0,
          pan: data.pan ?? 0,
          position,
        },
      });
    });
    await touchProject(this.deps, projectId, { kind: 'TRACK_ADDED', byUserId: viewer.id, trackId: track.id });
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
    const changes = {
      name: data.name ?? undefined,
      gainDb: data.gainDb ?? undefined,
      pan: data.pan ?? undefined,
      muted: data.muted ?? undefined,
      position: data.position ?? undefined,
    };
    await this.versioned('track', trackId, data.version, (where) =>
      this.deps.prisma.track.updateMany({ where, data: withFields(changes, { version: { increment: 1 } }) }),
    );
    await touchProject(this.deps, existing.projectId, { kind: 'TRACK_UPDATED', byUserId: viewer.id, trackId });
    return this.deps.prisma.track.findUniqueOrThrow({ where: { id: trackId } });
  }

  async removeTrack(viewer: Viewer, trackId: string): Promise<Track> {
    const track = await this.deps.access.track.require(viewer, trackId, 'admin');
    await this.deps.prisma.track.delete({ where: { id: trackId } });
    await touchProject(this.deps, track.projectId, { kind: 'TRACK_REMOVED', byUserId: viewer.id, trackId });
    return track;
  }

  /**
   * Optimistic concurrency, one rule for projects and tracks: `write` updates the row where its
   * version is `expected` (any version when none was given) and bumps it. Two editors who both read
   * version 3 cannot both write over it: the second gets CONFLICT with the row as it is now.
   */
  private async versioned<M extends 'project' | 'track'>(
    model: M,
    id: string,
    expected: number | null | undefined,
    write: (where: { id: string; version?: number }) => Promise<{ count: number }>,
  ) {
    const { count } = await write(expected == null ? { id } : { id, version: expected });
    const row = await (model === 'project'
      ? this.deps.prisma.project.findUnique({ where: { id } })
      : this.deps.prisma.track.findUnique({ where: { id } }));
    if (!row) throw notFound(model === 'project' ? 'Project' : 'Track', id); // deleted meanwhile
    if (count === 0) {
      // The state the client should apply its change to, in its own terms (global id, public fields).
      const current =
        'gainDb' in row
          ? {
              id: encodeGlobalId('Track', id),
              version: row.version,
              name: row.name,
              gainDb: row.gainDb,
              pan: row.pan,
              muted: row.muted,
              position: row.position,
            }
          : { id: encodeGlobalId('Project', id), version: row.version, name: row.name, bpm: row.bpm, key: row.key };
      throw conflict(model, current);
    }
    return row as M extends 'project' ? Project : Track;
  }
}
