-- Cached reads (src/graphql/response-cache.ts) are made of these tables. A statement trigger on each
-- NOTIFYs `dawg_reads` with the name of the table, and PostgreSQL delivers it when the writing
-- transaction commits (never if it rolls back), whichever process or path wrote: Prisma, the chat
-- path SQL, the worker, psql. Each api process LISTENs (src/db/table-changes.ts) and stops serving
-- what it cached before. Notifications with the same payload in one transaction arrive once.
-- The offline migration path runs a script statement by statement, split at every semicolon, so the
-- function body spells its semicolons as \073 in an escaped string, and no comment here holds one.
CREATE FUNCTION dawg_notify_reads() RETURNS trigger LANGUAGE plpgsql
  AS E'BEGIN PERFORM pg_notify(''dawg_reads'', TG_TABLE_NAME)\073 RETURN NULL\073 END';

CREATE TRIGGER users_notify_reads AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION dawg_notify_reads();
CREATE TRIGGER projects_notify_reads AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON projects
  FOR EACH STATEMENT EXECUTE FUNCTION dawg_notify_reads();
CREATE TRIGGER project_members_notify_reads AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON project_members
  FOR EACH STATEMENT EXECUTE FUNCTION dawg_notify_reads();
CREATE TRIGGER conversations_notify_reads AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON conversations
  FOR EACH STATEMENT EXECUTE FUNCTION dawg_notify_reads();
CREATE TRIGGER messages_notify_reads AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON messages
  FOR EACH STATEMENT EXECUTE FUNCTION dawg_notify_reads();
