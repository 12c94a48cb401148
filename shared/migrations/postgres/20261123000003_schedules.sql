-- Schedule triggers carry their next slot; every slot that came due is recorded once, fired or
-- missed. The primary key on (trigger, slot) is the backstop against double firing when
-- several schedulers run.

ALTER TABLE action_triggers ADD COLUMN next_fire_at timestamptz;
CREATE INDEX action_triggers_due ON action_triggers (next_fire_at) WHERE next_fire_at IS NOT NULL;

CREATE TABLE trigger_firings (
    tenant_id     uuid NOT NULL,
    project_id    uuid NOT NULL,
    trigger_id    uuid NOT NULL,
    slot          timestamptz NOT NULL,
    action_id     uuid NOT NULL,
    status        text NOT NULL CHECK (status IN ('fired', 'missed')),
    execution_id  uuid,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, project_id, trigger_id, slot)
);

-- nextRunTime is derived from the triggers when read.
ALTER TABLE actions DROP COLUMN next_run_time;
