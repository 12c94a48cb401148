-- Batched work: a worker's claims, step results and finishes go to the database in batches, one
-- call and one commit for whatever is ready (shared/src/storage/postgres/batch.rs). Each
-- function takes one array per argument, element i of each describing item i, and runs the
-- same one-row statement the worker ran before for each item in turn, every write fenced by its
-- own attempt.
--
-- Why a loop of one-row statements and not one statement joined to unnest() of the arrays:
-- without statistics (a burst before the first autoanalyze, or autovacuum off) the planner
-- takes a (tenant, project) prefix of the primary key for one row, scans a whole project
-- through it and filters, rather than probing the key once per item. One-row statements keyed
-- by the whole primary key cannot be planned that way. What batching saves (round trips,
-- statement overhead, one commit and one WAL flush per item) is saved either way.
--
-- Statuses are variables, not literals: like the bound statuses of the one-row statements, a
-- variable cannot make the planner pick a partial index such as "Queued executions".

-- Claims each Queued execution named (status Running, attempt + 1, a lease for `workers[i]` of
-- `leases[i]` seconds, the deadline set by the first claim) and starts its first step not
-- completed yet. Returns, for each execution claimed, one row per step (statuses as before the
-- claim), or one row with no step when it has none; executions not claimed return nothing.
CREATE FUNCTION actuate_claim_executions(
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

-- Records each step's result and starts the execution's next step, if the execution is still
-- Running under `attempts[i]` and the step is Running in that attempt. Returns, in order,
-- whether each result was recorded.
CREATE FUNCTION actuate_finish_steps(
    tenant_ids uuid[], project_ids uuid[], execution_ids uuid[], attempts integer[],
    step_numbers integer[], statuses text[], outputs jsonb[], logs text[], errors text[],
    next_steps integer[])
RETURNS boolean[]
LANGUAGE plpgsql AS $$
DECLARE
    running text := 'Running';
    recorded boolean[] := '{}';
    matched bigint;
    t uuid;
    p uuid;
    x uuid;
    a integer;
BEGIN
    FOR i IN 1 .. coalesce(array_length(execution_ids, 1), 0) LOOP
        t := tenant_ids[i];
        p := project_ids[i];
        x := execution_ids[i];
        a := attempts[i];
        WITH done AS (
            UPDATE execution_steps s SET status = statuses[i], date_ended = now(),
                output = outputs[i], log = logs[i], error = errors[i]
            FROM executions e
            WHERE s.tenant_id = t AND s.project_id = p AND s.execution_id = x
                AND s.step_number = step_numbers[i] AND s.status = running AND s.attempt = a
                AND e.tenant_id = s.tenant_id AND e.project_id = s.project_id
                AND e.execution_id = s.execution_id AND e.attempt = a AND e.status = running
            RETURNING s.step_number),
        next AS (
            UPDATE execution_steps SET status = running, attempt = a, date_started = now(),
                date_ended = NULL, output = NULL, log = NULL, error = NULL
            WHERE tenant_id = t AND project_id = p AND execution_id = x
                AND step_number = next_steps[i] AND status <> 'Completed'
                AND EXISTS (SELECT 1 FROM done))
        SELECT count(*) INTO matched FROM done;
        recorded := recorded || (matched = 1);
    END LOOP;
    RETURN recorded;
END
$$;

-- Ends each execution still Running under `attempts[i]` with `statuses[i]` and
-- `notes_list[i]`, records the result of its last step (`step_numbers[i]`, NULL for none), and
-- closes its other unfinished steps: a Running one fails with `stop_reasons[i]`, Pending ones
-- are skipped. Returns, in order, whether each execution was ended.
CREATE FUNCTION actuate_finish_executions(
    tenant_ids uuid[], project_ids uuid[], execution_ids uuid[], attempts integer[],
    statuses text[], notes_list text[], step_numbers integer[], step_statuses text[],
    outputs jsonb[], logs text[], errors text[], stop_reasons text[])
RETURNS boolean[]
LANGUAGE plpgsql AS $$
DECLARE
    running text := 'Running';
    ended boolean[] := '{}';
    matched bigint;
    t uuid;
    p uuid;
    x uuid;
    a integer;
BEGIN
    FOR i IN 1 .. coalesce(array_length(execution_ids, 1), 0) LOOP
        t := tenant_ids[i];
        p := project_ids[i];
        x := execution_ids[i];
        a := attempts[i];
        -- The fenced update of the execution locks its row (so a cancel waits or is waited
        -- for), and the step updates apply only if it matched.
        WITH e AS (
            UPDATE executions SET status = statuses[i], notes = notes_list[i],
                date_ended = now(), lease_owner = NULL, lease_expires_at = NULL
            WHERE tenant_id = t AND project_id = p AND execution_id = x AND attempt = a
                AND status = running
            RETURNING execution_id),
        last AS (
            UPDATE execution_steps SET status = step_statuses[i], date_ended = now(),
                output = outputs[i], log = logs[i], error = errors[i]
            WHERE tenant_id = t AND project_id = p AND execution_id = x
                AND step_number = step_numbers[i] AND status = running AND attempt = a
                AND EXISTS (SELECT 1 FROM e)),
        rest AS (
            UPDATE execution_steps SET
                status = CASE status WHEN 'Running' THEN 'Failed' ELSE 'Skipped' END,
                error = CASE status WHEN 'Running' THEN stop_reasons[i] ELSE error END,
                date_ended = CASE status WHEN 'Running' THEN now() ELSE date_ended END
            WHERE tenant_id = t AND project_id = p AND execution_id = x
                AND status IN ('Running', 'Pending')
                AND step_number IS DISTINCT FROM step_numbers[i]
                AND EXISTS (SELECT 1 FROM e))
        SELECT count(*) INTO matched FROM e;
        ended := ended || (matched = 1);
    END LOOP;
    RETURN ended;
END
$$;
