/**
 * The one place project events are published (projectEvents subscription, project.events.schema.ts).
 * Best effort, like generation progress: the change is already stored, so a failed publish (Redis
 * away) costs live subscribers one event, not data; projectUpdated and queries still show the state.
 */
import type { PubSub, ProjectEvent } from '../../pubsub.js';

export async function publishProjectEvent(pubsub: PubSub, event: ProjectEvent): Promise<void> {
  await pubsub.publish('projectEvent', event.projectId, event).catch(() => {});
}
