/**
 * CLEANUP (repeatable, src/jobs/upload-job.ts): uploads still PENDING after UPLOAD_PENDING_TTL_SEC
 * (created, never completed) are deleted with whatever object was PUT for them. In batches, oldest
 * first, so one run's work is bounded and the next run goes on where it stopped.
 */
import type { WorkerDeps } from '../deps.js';

const BATCH = 500;

export async function cleanupUploads(deps: WorkerDeps, now = Date.now()): Promise<number> {
  const before = new Date(now - deps.config.UPLOAD_PENDING_TTL_SEC * 1000);
  let deleted = 0;
  for (;;) {
    const stale = await deps.prisma.upload.findMany({
      where: { status: 'PENDING', createdAt: { lt: before } },
      orderBy: { createdAt: 'asc' },
      select: { id: true, key: true },
      take: BATCH,
    });
    for (const upload of stale) {
      // The object first: a row is only gone once nothing is left stored for it.
      await deps.storage.delete(upload.key);
      const { count } = await deps.prisma.upload.deleteMany({ where: { id: upload.id, status: 'PENDING' } });
      deleted += count;
    }
    if (stale.length < BATCH) break;
  }
  if (deleted) deps.log.info({ deleted }, 'deleted uploads never completed');
  return deleted;
}
