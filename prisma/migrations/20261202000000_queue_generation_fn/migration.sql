-- A new generation within its owner's cap of queued and running ones (GENERATION_MAX_PENDING), in one
-- round trip (src/modules/generations/pending-cap.ts): the per-user advisory lock, the count and the
-- insert run in one statement's transaction, so the lock is held for microseconds instead of four
-- round trips. The function is VOLATILE, so its count takes a snapshot after the lock is granted and
-- sees every generation committed before. Over the cap it raises DW001 with the count as DETAIL and
-- writes nothing. The lock key is the one retryGeneration's transaction takes.
-- The priority is p_base + p_step * count, at most p_max (the terms come from queue-order.ts).
-- The offline migration path splits scripts at every semicolon: the body spells them as \073.
CREATE FUNCTION dawg_queue_generation(
  p_id uuid, p_user uuid, p_project uuid, p_type "GenerationType", p_input jsonb,
  p_max_pending integer, p_base integer, p_step integer, p_max integer
) RETURNS SETOF generations LANGUAGE plpgsql VOLATILE AS E'
DECLARE pending integer\073
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(''dawg:pending:'' || p_user::text, 0))\073
  SELECT count(*) INTO pending FROM generations WHERE user_id = p_user AND status IN (''PENDING'', ''PROCESSING'')\073
  IF pending >= p_max_pending THEN
    RAISE EXCEPTION USING ERRCODE = ''DW001'', MESSAGE = ''generation cap reached'', DETAIL = pending::text\073
  END IF\073
  RETURN QUERY INSERT INTO generations (id, user_id, project_id, type, status, input, stage, provider, priority, updated_at)
    VALUES (p_id, p_user, p_project, p_type, ''PENDING'', p_input, ''queued'', ''local'',
            LEAST(p_max, p_base + p_step * pending), CURRENT_TIMESTAMP)
    RETURNING *\073
END'
