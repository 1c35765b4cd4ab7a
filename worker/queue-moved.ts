/**
 * When a job starts, everyone queued behind it moved up one place: the next QUEUE_MOVED_NOTIFY
 * queued generations, in queue order, are published again (generationProgress and the like), so a
 * client following one sees its queuePosition and estimatedStartSec change as the queue moves.
 * At most once per THROTTLE_MS per worker process; the rest of the queue learns at its next turn.
 */
import { publishGeneration } from '../src/modules/generations/generation-state.js';
import type { WorkerDeps } from './deps.js';

const QUEUE_MOVED_NOTIFY = 50;
const THROTTLE_MS = 250;

export function queueMovedAnnouncer(deps: Pick<WorkerDeps, 'prisma' | 'pubsub' | 'log'>) {
  let last = 0;
  return async function queueMoved(): Promise<void> {
    if (Date.now() - last < THROTTLE_MS) return;
    last = Date.now();
    const next = await deps.prisma.generation.findMany({
      where: { status: 'PENDING' },
      orderBy: [{ priority: 'asc' }, { queuedAt: 'asc' }],
      take: QUEUE_MOVED_NOTIFY,
    });
    await Promise.all(next.map((g) => publishGeneration(deps.pubsub, g)));
  };
}
