-- Step retries. A step's retry policy (JSON, NULL: no retry) is kept beside its settings and
-- copied into each execution's snapshot. A failed try that will be retried leaves its step
-- Pending with retries + 1 and its error, and the execution held (Queued, not_before = the
-- end of the backoff, no outbox row) until release_due publishes it for any worker to claim.
-- executions.retried counts those re-claims, so that the reaper's "lost in N attempts" counts
-- only claims that were lost (attempt - retried).

ALTER TABLE action_steps ADD COLUMN retry text;
ALTER TABLE execution_steps ADD COLUMN retry text,
    ADD COLUMN retries integer NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN retried integer NOT NULL DEFAULT 0;

-- As in 20261206000002, also copying each step's retry policy.
CREATE OR REPLACE FUNCTION actuate_insert_executions(
    tenant_ids uuid[], project_ids uuid[], action_ids uuid[], execution_ids uuid[],
    triggers text[], inputs jsonb[], run_ats timestamptz[], rerun_ofs uuid[])
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
                status, trigger, input, max_run_time, date_started, run_at, not_before,
                rerun_of)
            SELECT t, p, execution_ids[i], a, act.name, queued, triggers[i], inputs[i],
                act.max_run_time, now(), run_ats[i], run_ats[i], rerun_ofs[i] FROM act
            RETURNING action_id, execution_id, date_started, date_ended, status, notes),
        s AS (
            INSERT INTO execution_steps (tenant_id, project_id, execution_id, step_number,
                step_id, step_type, settings, retry)
            SELECT st.tenant_id, st.project_id, e.execution_id, st.step_number, st.step_id,
                st.step_type, st.settings, st.retry
            FROM action_steps st, e
            WHERE st.tenant_id = t AND st.project_id = p AND st.action_id = a),
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

-- As in 20261206000002, also answering each step's retry policy and retries. Its answer
-- changes shape, so it is dropped and created again rather than replaced.
DROP FUNCTION actuate_claim_executions(uuid[], uuid[], uuid[], text[], float8[]);
CREATE FUNCTION actuate_claim_executions(
    tenant_ids uuid[], project_ids uuid[], execution_ids uuid[], workers text[],
    leases float8[])
RETURNS TABLE (execution_id uuid, attempt integer, action_id uuid, action_name text,
    trigger text, input jsonb, max_run_time integer, remaining_seconds float8,
    step_number integer, step_id uuid, step_type text, settings text, step_status text,
    output jsonb, step_retry text, step_retries integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    running text := 'Running';
    queued text := 'Queued';
    t uuid;
    p uuid;
    x uuid;
BEGIN
    FOR i IN 1 .. coalesce(array_length(execution_ids, 1), 0) LOOP
        t := tenant_ids[i];
        p := project_ids[i];
        x := execution_ids[i];
        RETURN QUERY
        WITH claimed AS (
            UPDATE executions SET status = running, attempt = attempt + 1,
                lease_owner = workers[i],
                lease_expires_at = now() + make_interval(secs => leases[i]),
                date_running = COALESCE(date_running, now()),
                deadline_at = COALESCE(deadline_at, now() + make_interval(secs => max_run_time))
            WHERE tenant_id = t AND project_id = p AND execution_id = x AND status = queued
                AND not_before IS NULL
            RETURNING execution_id, attempt, action_id, action_name, trigger, input,
                max_run_time,
                GREATEST(EXTRACT(EPOCH FROM deadline_at - now()), 0)::float8 AS remaining),
        started AS (
            UPDATE execution_steps SET status = running,
                attempt = (SELECT c.attempt FROM claimed c),
                date_started = now(), date_ended = NULL, output = NULL, log = NULL, error = NULL
            WHERE tenant_id = t AND project_id = p AND execution_id = x
                AND EXISTS (SELECT 1 FROM claimed)
                AND step_number = (SELECT min(s.step_number) FROM execution_steps s
                    WHERE s.tenant_id = t AND s.project_id = p AND s.execution_id = x
                        AND s.status <> 'Completed'))
        SELECT c.execution_id, c.attempt, c.action_id, c.action_name, c.trigger, c.input,
            c.max_run_time, c.remaining, s.step_number, s.step_id, s.step_type, s.settings,
            s.status, s.output, s.retry, s.retries
        FROM claimed c LEFT JOIN execution_steps s ON s.tenant_id = t AND s.project_id = p
            AND s.execution_id = x
        ORDER BY s.step_number;
    END LOOP;
END
$$;
