-- Each execution keeps the W3C traceparent of the request that created it (NULL when traces
-- are not exported): every claim of it, however late or often, joins that trace, and the relay
-- puts it in the message's headers.
ALTER TABLE executions ADD COLUMN trace_parent text;

-- As in 20261206000007, with each execution's trace_parent and the audit entry of its
-- creation (written when audit_actions[i] is not NULL: the entry and the execution commit
-- together, with no commit of the entry's own). The eight-argument version stays for API
-- processes of the previous release during a rolling upgrade.
CREATE FUNCTION actuate_insert_executions(
    tenant_ids uuid[], project_ids uuid[], action_ids uuid[], execution_ids uuid[],
    triggers text[], inputs jsonb[], run_ats timestamptz[], rerun_ofs uuid[],
    trace_parents text[], audit_key_ids uuid[], audit_actions text[], audit_summaries text[])
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
            SELECT name, max_run_time, concurrency_limit, concurrency_key_path FROM actions
            WHERE tenant_id = t AND project_id = p AND action_id = a AND is_enabled),
        e AS (
            INSERT INTO executions (tenant_id, project_id, execution_id, action_id, action_name,
                status, trigger, input, max_run_time, date_started, run_at, not_before,
                rerun_of, concurrency_limit, concurrency_key, trace_parent)
            SELECT t, p, execution_ids[i], a, act.name, queued, triggers[i], inputs[i],
                act.max_run_time, now(), run_ats[i], run_ats[i], rerun_ofs[i],
                act.concurrency_limit, COALESCE(inputs[i] #>> act.concurrency_key_path, ''),
                trace_parents[i]
            FROM act
            RETURNING action_id, execution_id, date_started, date_ended, status, notes),
        s AS (
            INSERT INTO execution_steps (tenant_id, project_id, execution_id, step_number,
                step_id, step_type, settings, retry)
            SELECT st.tenant_id, st.project_id, e.execution_id, st.step_number, st.step_id,
                st.step_type, st.settings, st.retry
            FROM action_steps st, e
            WHERE st.tenant_id = t AND st.project_id = p AND st.action_id = a),
        au AS (
            INSERT INTO audit_log (audit_id, tenant_id, project_id, at, key_id, action,
                target_id, summary)
            SELECT gen_random_uuid(), t, p, now(), audit_key_ids[i], audit_actions[i],
                e.execution_id::text, audit_summaries[i]
            FROM e WHERE audit_actions[i] IS NOT NULL),
        o AS (
            INSERT INTO outbox (tenant_id, project_id, execution_id, next_step_type)
            SELECT t, p, e.execution_id, (SELECT st.step_type FROM action_steps st
                WHERE st.tenant_id = t AND st.project_id = p AND st.action_id = a
                ORDER BY st.step_number LIMIT 1) FROM e WHERE run_ats[i] IS NULL)
        SELECT e.action_id, e.execution_id, e.date_started, e.date_ended, e.status, e.notes
        FROM e;
    END LOOP;
END
$$;
