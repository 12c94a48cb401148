-- Execution control: delayed runs and re-runs.
--
-- run_at: the start time a caller asked for (shown as runAt). not_before: while set, the
-- execution is held: Queued, with no outbox row, and no claim takes it (a stray message finds
-- it not claimable and is dropped). release_due clears it and writes the outbox row in one
-- statement once the time has come. A delayed run is held until its run_at; the same column
-- will hold executions waiting for a retry's backoff.
-- rerun_of: the execution a re-run repeats.

ALTER TABLE executions ADD COLUMN run_at timestamptz, ADD COLUMN not_before timestamptz,
    ADD COLUMN rerun_of uuid;

-- Held executions by due time. Partial: a statement can use it only if it implies
-- not_before IS NOT NULL, so it cannot compete with the primary key for one-row claims and
-- finishes (see 20261123000004).
CREATE INDEX executions_held ON executions (not_before) WHERE not_before IS NOT NULL;

-- Claims skip held executions; otherwise as in 20261205000001.
CREATE OR REPLACE FUNCTION actuate_claim_executions(
    tenant_ids uuid[], project_ids uuid[], execution_ids uuid[], workers text[],
    leases float8[])
RETURNS TABLE (execution_id uuid, attempt integer, action_id uuid, action_name text,
    trigger text, input jsonb, max_run_time integer, remaining_seconds float8,
    step_number integer, step_id uuid, step_type text, settings text, step_status text,
    output jsonb)
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
            s.status, s.output
        FROM claimed c LEFT JOIN execution_steps s ON s.tenant_id = t AND s.project_id = p
            AND s.execution_id = x
        ORDER BY s.step_number;
    END LOOP;
END
$$;

-- As in 20261205000002, with each execution's run_at (held until then, no outbox row, when
-- given) and rerun_of. The six-argument version stays for API processes of the previous
-- release during a rolling upgrade.
CREATE FUNCTION actuate_insert_executions(
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
                step_id, step_type, settings)
            SELECT st.tenant_id, st.project_id, e.execution_id, st.step_number, st.step_id,
                st.step_type, st.settings
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
