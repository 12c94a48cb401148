-- Standalone mode's schema: the same tables, keys and meanings as the PostgreSQL migrations
-- (read those for the why of each column), in SQLite's terms.
-- - Ids are 16-byte BLOBs (sqlx encodes uuid so), JSON is TEXT, booleans are 0/1.
-- - Timestamps are TEXT as sqlx writes a UTC instant (RFC 3339, "+00:00"), which sorts in time
--   order; every one is taken from the process's clock in Rust (a claim's deadline is that
--   instant plus maxRunTime, added by SQLite in the same format with milliseconds).
-- - STRICT tables: a value of the wrong type is refused instead of stored.

CREATE TABLE api_keys (
    key_id      BLOB PRIMARY KEY,
    tenant_id   BLOB NOT NULL,
    project_id  BLOB,
    name        TEXT,
    token_hash  BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
) STRICT;

CREATE TABLE actions (
    tenant_id        BLOB NOT NULL,
    project_id       BLOB NOT NULL,
    action_id        BLOB NOT NULL,
    name             TEXT NOT NULL,
    description      TEXT,
    is_enabled       INTEGER NOT NULL,
    max_run_time     INTEGER NOT NULL CHECK (max_run_time BETWEEN 1 AND 86400),
    date_created     TEXT NOT NULL,
    date_modified    TEXT NOT NULL,
    created_by       BLOB NOT NULL,
    modified_by      BLOB NOT NULL,
    PRIMARY KEY (tenant_id, project_id, action_id),
    CONSTRAINT actions_name_unique UNIQUE (tenant_id, project_id, name)
) STRICT;

CREATE TABLE action_steps (
    tenant_id     BLOB NOT NULL,
    project_id    BLOB NOT NULL,
    action_id     BLOB NOT NULL,
    step_id       BLOB NOT NULL,
    step_number   INTEGER NOT NULL,
    step_type     TEXT NOT NULL,
    description   TEXT,
    settings      TEXT NOT NULL,
    date_created  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, project_id, step_id),
    UNIQUE (tenant_id, project_id, action_id, step_number),
    FOREIGN KEY (tenant_id, project_id, action_id)
        REFERENCES actions (tenant_id, project_id, action_id) ON DELETE CASCADE
) STRICT;

CREATE TABLE action_triggers (
    tenant_id     BLOB NOT NULL,
    project_id    BLOB NOT NULL,
    action_id     BLOB NOT NULL,
    trigger_id    BLOB NOT NULL,
    trigger_type  TEXT NOT NULL,
    settings      TEXT NOT NULL,
    frequency     INTEGER NOT NULL CHECK (frequency >= 1),
    event_name    TEXT,
    start_date    TEXT,
    date_created  TEXT NOT NULL,
    next_fire_at  TEXT,
    PRIMARY KEY (tenant_id, project_id, trigger_id),
    FOREIGN KEY (tenant_id, project_id, action_id)
        REFERENCES actions (tenant_id, project_id, action_id) ON DELETE CASCADE
) STRICT;

CREATE INDEX action_triggers_by_action ON action_triggers (action_id);
CREATE INDEX action_triggers_by_event ON action_triggers (tenant_id, project_id, event_name)
    WHERE event_name IS NOT NULL;
CREATE INDEX action_triggers_due ON action_triggers (next_fire_at)
    WHERE next_fire_at IS NOT NULL;

CREATE TABLE executions (
    tenant_id        BLOB NOT NULL,
    project_id       BLOB NOT NULL,
    execution_id     BLOB NOT NULL,
    -- No foreign key: finished executions stay readable after their action is deleted.
    action_id        BLOB NOT NULL,
    action_name      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('Queued', 'Running', 'Completed', 'Failed')),
    trigger          TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule', 'event')),
    input            TEXT,
    max_run_time     INTEGER NOT NULL,
    date_started     TEXT NOT NULL,
    date_running     TEXT,
    deadline_at      TEXT,
    date_ended       TEXT,
    notes            TEXT,
    attempt          INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    requeued_at      TEXT,
    PRIMARY KEY (tenant_id, project_id, execution_id)
) STRICT;

CREATE INDEX executions_by_action ON executions (action_id, date_started DESC);
CREATE INDEX executions_running ON executions (lease_expires_at) WHERE status = 'Running';
CREATE INDEX executions_queued ON executions (date_started) WHERE status = 'Queued';
CREATE INDEX executions_running_by_action ON executions (action_id) WHERE status = 'Running';
CREATE INDEX executions_finished_by_action ON executions (action_id, date_ended DESC)
    WHERE date_ended IS NOT NULL;

CREATE TABLE execution_steps (
    tenant_id     BLOB NOT NULL,
    project_id    BLOB NOT NULL,
    execution_id  BLOB NOT NULL,
    step_number   INTEGER NOT NULL,
    step_id       BLOB NOT NULL,
    step_type     TEXT NOT NULL,
    settings      TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'Pending'
                  CHECK (status IN ('Pending', 'Running', 'Completed', 'Failed', 'Skipped')),
    attempt       INTEGER,
    date_started  TEXT,
    date_ended    TEXT,
    output        TEXT,
    log           TEXT,
    error         TEXT,
    PRIMARY KEY (tenant_id, project_id, execution_id, step_number),
    FOREIGN KEY (tenant_id, project_id, execution_id)
        REFERENCES executions (tenant_id, project_id, execution_id) ON DELETE CASCADE
) STRICT;

-- AUTOINCREMENT: an id is never reused, so a relay's late completion can only ever remove
-- the row it published.
CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id      BLOB NOT NULL,
    project_id     BLOB NOT NULL,
    execution_id   BLOB NOT NULL,
    next_step_type TEXT,
    created_at     TEXT NOT NULL,
    -- '' sorts before every timestamp: not leased.
    locked_until   TEXT NOT NULL DEFAULT '',
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT
) STRICT;

CREATE INDEX outbox_by_execution ON outbox (execution_id);

CREATE TABLE idempotency_keys (
    tenant_id     BLOB NOT NULL,
    project_id    BLOB NOT NULL,
    action_id     BLOB NOT NULL,
    key           TEXT NOT NULL,
    execution_id  BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, project_id, action_id, key)
) STRICT;

CREATE TABLE trigger_firings (
    tenant_id     BLOB NOT NULL,
    project_id    BLOB NOT NULL,
    trigger_id    BLOB NOT NULL,
    slot          TEXT NOT NULL,
    action_id     BLOB NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('fired', 'missed')),
    execution_id  BLOB,
    recorded_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, project_id, trigger_id, slot)
) STRICT;
