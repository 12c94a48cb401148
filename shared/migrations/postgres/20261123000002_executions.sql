-- Executions, their steps (a snapshot of the action's steps taken at execute time, plus each
-- step's result), the transactional outbox feeding RabbitMQ, and idempotency keys.

CREATE TABLE executions (
    tenant_id        uuid NOT NULL,
    project_id       uuid NOT NULL,
    execution_id     uuid NOT NULL,
    -- No foreign key: finished executions stay readable after their action is deleted.
    action_id        uuid NOT NULL,
    action_name      text NOT NULL,
    status           text NOT NULL CHECK (status IN ('Queued', 'Running', 'Completed', 'Failed')),
    trigger          text NOT NULL CHECK (trigger IN ('manual', 'schedule', 'event')),
    input            jsonb,
    max_run_time     integer NOT NULL,
    date_started     timestamptz NOT NULL,
    date_running     timestamptz,
    deadline_at      timestamptz,
    date_ended       timestamptz,
    notes            text,
    -- Incremented by every claim; every write of a worker is fenced by it.
    attempt          integer NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_expires_at timestamptz,
    requeued_at      timestamptz,
    PRIMARY KEY (tenant_id, project_id, execution_id)
);

CREATE INDEX executions_by_action ON executions (tenant_id, project_id, action_id, date_started DESC);
CREATE INDEX executions_running ON executions (lease_expires_at) WHERE status = 'Running';
CREATE INDEX executions_queued ON executions (date_started) WHERE status = 'Queued';

CREATE TABLE execution_steps (
    tenant_id     uuid NOT NULL,
    project_id    uuid NOT NULL,
    execution_id  uuid NOT NULL,
    step_number   integer NOT NULL,
    step_id       uuid NOT NULL,
    step_type     text NOT NULL,
    settings      text NOT NULL,
    status        text NOT NULL DEFAULT 'Pending'
                  CHECK (status IN ('Pending', 'Running', 'Completed', 'Failed', 'Skipped')),
    attempt       integer,
    date_started  timestamptz,
    date_ended    timestamptz,
    output        jsonb,
    log           text,
    error         text,
    PRIMARY KEY (tenant_id, project_id, execution_id, step_number),
    FOREIGN KEY (tenant_id, project_id, execution_id)
        REFERENCES executions (tenant_id, project_id, execution_id) ON DELETE CASCADE
);

-- Rows wait here until a relay has published them with a broker confirm. A relay leases a
-- batch (locked_until) rather than holding a transaction open while it talks to the broker.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    project_id    uuid NOT NULL,
    execution_id  uuid NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    locked_until  timestamptz NOT NULL DEFAULT '-infinity',
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text
);

CREATE TABLE idempotency_keys (
    tenant_id     uuid NOT NULL,
    project_id    uuid NOT NULL,
    action_id     uuid NOT NULL,
    key           text NOT NULL,
    execution_id  uuid NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, project_id, action_id, key)
);

CREATE INDEX executions_running_by_action ON executions (tenant_id, project_id, action_id)
    WHERE status = 'Running';
CREATE INDEX executions_finished_by_action
    ON executions (tenant_id, project_id, action_id, date_ended DESC)
    WHERE date_ended IS NOT NULL;

-- An action's status and last run are derived from its executions when read, so they can
-- never disagree with them.
ALTER TABLE actions DROP COLUMN action_status, DROP COLUMN last_run_time,
    DROP COLUMN last_run_result;
