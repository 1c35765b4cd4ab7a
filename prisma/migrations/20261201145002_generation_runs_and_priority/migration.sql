-- Generations: a run per retry (its own job id), a queue priority, and when it was queued.
-- AlterTable
ALTER TABLE "generations" ADD COLUMN     "priority" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "queued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "run" INTEGER NOT NULL DEFAULT 0;

-- Rows from before: queued when they were created.
UPDATE "generations" SET "queued_at" = "created_at";

-- CreateIndex
CREATE INDEX "generations_status_priority_queued_at_idx" ON "generations"("status", "priority", "queued_at");

-- CreateIndex
CREATE INDEX "generations_status_updated_at_id_idx" ON "generations"("status", "updated_at", "id");
