-- The claim and insert functions as execution control needs them (held executions, step
-- retries, concurrency limits: the columns come from 20261206000002 to 000006). Batched as in
-- 20261205000001 and 000002, which say why each runs a loop of one-row statements.

-- Writes a Queued execution of each enabled action named: the row (with its run_at, held
-- until then when given, rerun_of, concurrency limit and the key's value read from the input
-- by the action's key path), the snapshot of its steps (with their retry policies) and, unless
-- it is held, its outbox row. Returns the executions created; an item whose action is missing
-- or disabled returns nothing. The six-argument version of 20261205000002 stays for API
-- processes of the previous release during a rolling upgrade.
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
            SELECT name, max_run_time, concurrency_limit, concurrency_key_path FROM actions
            WHERE tenant_id = t AND project_id = p AND action_id = a AND is_enabled),
        e AS (
            INSERT INTO executions (tenant_id, project_id, execution_id, action_id, action_name,
                status, trigger, input, max_run_time, date_started, run_at, not_before,
                rerun_of, concurrency_limit, concurrency_key)
            SELECT t, p, execution_ids[i], a, act.name, queued, triggers[i], inputs[i],
                act.max_run_time, now(), run_ats[i], run_ats[i], rerun_ofs[i],
                act.concurrency_limit, COALESCE(inputs[i] #>> act.concurrency_key_path, '')
            FROM act
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

-- Claims each Queued execution named that is not held (status Running, attempt + 1, a lease
-- for `workers[i]` of `leases[i]` seconds, the deadline set by the first claim) and starts its
-- first step not completed yet; returns its steps with their retry policies and retries.
-- A limited execution (concurrency_limit) is claimed only while its group has a free slot (not
-- taken by a Running execution, nor by an older Queued one on its way to a claim) and no older
-- execution of the group waits for one: first come, first served. Otherwise it waits
-- (waiting_slot) until release_due gives it a slot. The answer changes shape from
-- 20261205000001's, so that function is dropped first.
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
    lim integer;
    grp text;
    act uuid;
    queued_at timestamptz;
    k bigint;
    keys bigint[] := '{}';
    lims integer[] := '{}';
    grps text[] := '{}';
    acts uuid[] := '{}';
    queued_ats timestamptz[] := '{}';
BEGIN
    -- Each execution is read once, here; the claims below use what was read.
    FOR i IN 1 .. coalesce(array_length(execution_ids, 1), 0) LOOP
        SELECT e.concurrency_limit, e.concurrency_key, e.action_id, e.date_started
            INTO lim, grp, act, queued_at
            FROM executions e
            WHERE e.tenant_id = tenant_ids[i] AND e.project_id = project_ids[i]
                AND e.execution_id = execution_ids[i] AND e.status = queued
                AND e.not_before IS NULL;
        lims := array_append(lims, lim);
        grps := array_append(grps, grp);
        acts := array_append(acts, act);
        queued_ats := array_append(queued_ats, queued_at);
        IF lim IS NOT NULL THEN
            keys := array_append(keys, hashtextextended(tenant_ids[i]::text || '/'
                || project_ids[i]::text || '/' || act::text || '/' || grp, 0));
        END IF;
    END LOOP;
    -- The groups of the limited executions of this batch, locked first and in one order, so
    -- that two batches claiming in the same groups wait for each other instead of deadlocking.
    -- Held until the batch commits: a claim's count then sees every claim of its group made
    -- before it.
    FOR k IN SELECT DISTINCT u.key FROM unnest(keys) AS u(key) ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock(k);
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(execution_ids, 1), 0) LOOP
        t := tenant_ids[i];
        p := project_ids[i];
        x := execution_ids[i];
        lim := lims[i];
        grp := grps[i];
        act := acts[i];
        queued_at := queued_ats[i];
        IF lim IS NOT NULL THEN
            -- Literal statuses here: these counts should use executions_by_group.
            IF (SELECT count(*) FROM executions r
                    WHERE r.action_id = act AND r.concurrency_key = grp
                        AND r.status IN ('Running', 'Queued')
                        AND r.tenant_id = t AND r.project_id = p
                        AND (r.status = 'Running' OR (NOT r.waiting_slot
                            AND r.not_before IS NULL
                            AND (r.date_started, r.execution_id) < (queued_at, x)))) >= lim
                OR EXISTS (SELECT 1 FROM executions w
                    WHERE w.action_id = act AND w.concurrency_key = grp
                        AND w.status IN ('Running', 'Queued') AND w.status = 'Queued'
                        AND w.tenant_id = t AND w.project_id = p
                        AND w.waiting_slot AND w.not_before IS NULL
                        AND (w.date_started, w.execution_id) < (queued_at, x)) THEN
                UPDATE executions SET waiting_slot = true
                    WHERE tenant_id = t AND project_id = p AND execution_id = x
                        AND status = queued AND not_before IS NULL;
                CONTINUE;
            END IF;
        END IF;
        RETURN QUERY
        WITH claimed AS (
            UPDATE executions SET status = running, attempt = attempt + 1, waiting_slot = false,
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
