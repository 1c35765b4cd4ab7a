-- The cap's count of a user's queued and running generations (dawg_queue_generation, and retryGeneration's
-- transaction, src/modules/generations/pending-cap.ts) reads only that user's pending rows. Without this
-- index the count walked every pending row of every user (generations_status_idx) or the user's whole
-- history (generations_user_id_created_at_idx), under the user's advisory lock: 4.2 ms for a user with
-- none pending among 10,000 others' pending rows, 0.2 ms with it (docs/benchmarks.md).
-- schema.prisma describes no partial index (that takes a preview feature), and the schema engine's diff
-- leaves this one in place: test/integration/migrations.test.ts checks that the two still agree.
CREATE INDEX "generations_user_id_pending_idx" ON "generations" ("user_id") WHERE "status" IN ('PENDING', 'PROCESSING');
