-- Counts a generation's changes (transition adds one to it each time): generation-order.ts keeps the
-- newest of two events about one generation by it, whichever process published them and whatever its clock.
ALTER TABLE "generations" ADD COLUMN     "version" INTEGER NOT NULL DEFAULT 0;
