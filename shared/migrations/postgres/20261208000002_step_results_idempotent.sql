-- A step result whose commit succeeded but whose answer was lost (the database stopped in
-- between) is written again by the worker once the database is back. 20261205000001's
-- function then found the step no longer Running and answered "not recorded", which the
-- worker takes for a lost claim: it stopped, and the reaper ran the execution again. Now a
-- repeat is recognised: the step already holds this result's status in this attempt, the
-- execution is still Running in it and the next step was started in it. Nobody but the
-- claim's holder writes in its attempt, so that state is this very write, recorded.
CREATE OR REPLACE FUNCTION actuate_finish_steps(
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
        IF matched = 0 THEN
            SELECT count(*) INTO matched
            FROM execution_steps s
            JOIN executions e ON e.tenant_id = s.tenant_id AND e.project_id = s.project_id
                AND e.execution_id = s.execution_id
            JOIN execution_steps n ON n.tenant_id = s.tenant_id AND n.project_id = s.project_id
                AND n.execution_id = s.execution_id AND n.step_number = next_steps[i]
            WHERE s.tenant_id = t AND s.project_id = p AND s.execution_id = x
                AND s.step_number = step_numbers[i] AND s.attempt = a
                AND s.status = statuses[i] AND s.date_ended IS NOT NULL
                AND e.attempt = a AND e.status = running
                AND n.attempt = a AND n.status = running;
        END IF;
        recorded := recorded || (matched = 1);
    END LOOP;
    RETURN recorded;
END
$$;
