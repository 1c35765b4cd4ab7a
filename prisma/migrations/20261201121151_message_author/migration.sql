-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "user_id" UUID;

-- CreateIndex
CREATE INDEX "messages_user_id_created_at_idx" ON "messages"("user_id", "created_at");

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Messages written before: their conversation's creator said them (or asked for them).
UPDATE "messages" m SET "user_id" = c."user_id" FROM "conversations" c WHERE c."id" = m."conversation_id" AND m."role" <> 'SYSTEM';
