-- Tenancy is part of every key: each row carries tenant_id and project_id, and every query
-- filters on both.

CREATE TABLE api_keys (
    key_id      uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    project_id  uuid,
    name        text,
    token_hash  bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

CREATE TABLE actions (
    tenant_id        uuid NOT NULL,
    project_id       uuid NOT NULL,
    action_id        uuid NOT NULL,
    name             text NOT NULL,
    description      text,
    is_enabled       boolean NOT NULL,
    max_run_time     integer NOT NULL CHECK (max_run_time BETWEEN 1 AND 86400),
    action_status    text NOT NULL DEFAULT 'Idle',
    next_run_time    timestamptz,
    last_run_time    timestamptz,
    last_run_result  text,
    date_created     timestamptz NOT NULL,
    date_modified    timestamptz NOT NULL,
    created_by       uuid NOT NULL,
    modified_by      uuid NOT NULL,
    PRIMARY KEY (tenant_id, project_id, action_id),
    CONSTRAINT actions_name_unique UNIQUE (tenant_id, project_id, name)
);

CREATE TABLE action_steps (
    tenant_id     uuid NOT NULL,
    project_id    uuid NOT NULL,
    action_id     uuid NOT NULL,
    step_id       uuid NOT NULL,
    step_number   integer NOT NULL,
    step_type     text NOT NULL,
    description   text,
    settings      text NOT NULL,
    date_created  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, project_id, step_id),
    UNIQUE (tenant_id, project_id, action_id, step_number),
    FOREIGN KEY (tenant_id, project_id, action_id)
        REFERENCES actions (tenant_id, project_id, action_id) ON DELETE CASCADE
);

CREATE TABLE action_triggers (
    tenant_id     uuid NOT NULL,
    project_id    uuid NOT NULL,
    action_id     uuid NOT NULL,
    trigger_id    uuid NOT NULL,
    trigger_type  text NOT NULL,
    settings      text NOT NULL,
    frequency     integer NOT NULL CHECK (frequency >= 1),
    event_name    text,
    start_date    date,
    date_created  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, project_id, trigger_id),
    FOREIGN KEY (tenant_id, project_id, action_id)
        REFERENCES actions (tenant_id, project_id, action_id) ON DELETE CASCADE
);

CREATE INDEX action_triggers_by_action ON action_triggers (tenant_id, project_id, action_id);
CREATE INDEX action_triggers_by_event ON action_triggers (tenant_id, project_id, event_name)
    WHERE event_name IS NOT NULL;
