-- Uploads: COMPLETE becomes READY (the API's name), and the analysis is stored on the row.
-- AlterEnum
BEGIN;
CREATE TYPE "UploadStatus_new" AS ENUM ('PENDING', 'READY', 'FAILED');
ALTER TABLE "public"."uploads" ALTER COLUMN "status" DROP DEFAULT;
ALTER TABLE "uploads" ALTER COLUMN "status" TYPE "UploadStatus_new" USING ((CASE WHEN "status"::text = 'COMPLETE' THEN 'READY' ELSE "status"::text END)::"UploadStatus_new");
ALTER TYPE "UploadStatus" RENAME TO "UploadStatus_old";
ALTER TYPE "UploadStatus_new" RENAME TO "UploadStatus";
DROP TYPE "public"."UploadStatus_old";
ALTER TABLE "uploads" ALTER COLUMN "status" SET DEFAULT 'PENDING';
COMMIT;

-- AlterTable
ALTER TABLE "uploads" ADD COLUMN     "bpm" DOUBLE PRECISION,
ADD COLUMN     "channels" INTEGER,
ADD COLUMN     "duration_sec" DOUBLE PRECISION,
ADD COLUMN     "error" VARCHAR(500),
ADD COLUMN     "loudness_lufs" DOUBLE PRECISION,
ADD COLUMN     "musical_key" VARCHAR(16),
ADD COLUMN     "project_id" UUID,
ADD COLUMN     "sample_rate" INTEGER;

-- CreateIndex
CREATE INDEX "uploads_status_created_at_idx" ON "uploads"("status", "created_at");

-- CreateIndex
CREATE INDEX "uploads_project_id_idx" ON "uploads"("project_id");

-- AddForeignKey
ALTER TABLE "uploads" ADD CONSTRAINT "uploads_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE SET NULL ON UPDATE CASCADE;
