-- Batched execute: concurrent execute requests without an idempotency key share one call and
-- one commit (shared/src/storage/postgres/batch.rs), each still answered only after it. The
-- loop runs, per item, the one statement an execute ran before; why a loop rather than one
-- statement over unnest() is said in 20261205000001_batched_work.sql.
--
-- Writes a Queued execution of each enabled action named: the row, the snapshot of its steps
-- and its outbox row. Returns the executions created; an item whose action is missing or
-- disabled returns nothing.
CREATE FUNCTION actuate_insert_executions(
    tenant_ids uuid[], project_ids uuid[], action_ids uuid[], execution_ids uuid[],
    triggers text[], inputs jsonb[])
RETURNS TABLE (action_id uuid, execution_id uuid, date_started timestamptz,
    date_ended timestamptz, status text, notes text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    queued text := 'Queued';
    t uuid;
    p uuid;
    a uuid;
BEGIN
    FOR i IN 1 .. coalesce(array_length(execution_ids, 1), 0) LOOP
        t := tenant_ids[i];
        p := project_ids[i];
        a := action_ids[i];
        -- One statement reads the action and its steps in one snapshot, so the snapshot is
        -- consistent without locking the action row.
        RETURN QUERY
        WITH act AS (
            SELECT name, max_run_time FROM actions
            WHERE tenant_id = t AND project_id = p AND action_id = a AND is_enabled),
        e AS (
            INSERT INTO executions (tenant_id, project_id, execution_id, action_id, action_name,
                status, trigger, input, max_run_time, date_started)
            SELECT t, p, execution_ids[i], a, act.name, queued, triggers[i], inputs[i],
                act.max_run_time, now() FROM act
            RETURNING action_id, execution_id, date_started, date_ended, status, notes),
        s AS (
            INSERT INTO execution_steps (tenant_id, project_id, execution_id, step_number,
                step_id, step_type, settings)
            SELECT st.tenant_id, st.project_id, e.execution_id, st.step_number, st.step_id,
                st.step_type, st.settings
            FROM action_steps st, e
            WHERE st.tenant_id = t AND st.project_id = p AND st.action_id = a),
        o AS (
            INSERT INTO outbox (tenant_id, project_id, execution_id, next_step_type)
            SELECT t, p, e.execution_id, (SELECT st.step_type FROM action_steps st
                WHERE st.tenant_id = t AND st.project_id = p AND st.action_id = a
                ORDER BY st.step_number LIMIT 1) FROM e)
        SELECT e.action_id, e.execution_id, e.date_started, e.date_ended, e.status, e.notes
        FROM e;
    END LOOP;
END
$$;
