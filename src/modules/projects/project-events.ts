/**
 * The one place a project's changes are announced: projectUpdated gets the project, projectEvents
 * (project-events.schema.ts) what happened. The project event is best effort, like generation
 * progress: the change is already stored, so a failed publish (Redis away) costs live subscribers
 * one event, not data; projectUpdated and queries still show the state.
 */
import type { Db } from '../../db/client.js';
import type { Project } from '../../generated/prisma/client.js';
import type { ProjectEvent, PubSub } from '../../pubsub.js';

/** A project event without its project id (the project it is announced with gives it). */
export type ProjectChange = Omit<ProjectEvent, 'projectId'>;

export async function publishProjectEvent(pubsub: PubSub, event: ProjectEvent): Promise<void> {
  await pubsub.publish('projectEvent', event.projectId, event).catch(() => {});
}

/** Announces `project` as it is after `change`. */
export async function announceProject(pubsub: PubSub, project: Project, change: ProjectChange): Promise<void> {
  await pubsub.publish('projectUpdated', project.id, { projectId: project.id, project });
  await publishProjectEvent(pubsub, { projectId: project.id, ...change });
}

/**
 * A change to what the project holds (its tracks, its members): its version moves on and updatedAt
 * with it, then the change is announced. Returns the project as it is now.
 */
export async function touchProject(
  deps: { prisma: Db; pubsub: PubSub },
  projectId: string,
  change: ProjectChange,
): Promise<Project> {
  const project = await deps.prisma.project.update({
    where: { id: projectId },
    data: { updatedAt: new Date(), version: { increment: 1 } },
  });
  await announceProject(deps.pubsub, project, change);
  return project;
}
