-- GENERATION_MAX_PENDING's count of a user's queued and running generations, under the user's advisory
-- lock (dawg_queue_generation, and retryGeneration's transaction: PENDING_COUNT in
-- src/modules/generations/pending-cap.ts), reads only that user's pending rows: the lock is held as long
-- as those take to count, however deep the queue or long the user's history. The count's predicate must
-- stay this index's text, or the planner cannot use it (test/integration/generation-cap.test.ts checks
-- both plans). schema.prisma describes no partial index (that takes a preview feature), and the schema
-- engine's diff leaves this one in place (test/integration/migrations.test.ts checks that the two agree).
-- A plain CREATE INDEX: writes to generations wait while it reads the table once.
CREATE INDEX "generations_user_id_pending_idx" ON "generations" ("user_id") WHERE "status" IN ('PENDING', 'PROCESSING');
