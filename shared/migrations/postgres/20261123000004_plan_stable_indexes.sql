-- Indexes that lead with (tenant_id, project_id) competed with the primary key for lookups of
-- one execution. Without fresh statistics (autovacuum off, or a burst before the first
-- autoanalyze) the planner cannot tell them apart and was seen scanning every execution of a
-- project to update one row. Action ids are globally unique, so the per-action indexes lead
-- with them instead; queries still filter on tenant and project.

DROP INDEX executions_by_action;
CREATE INDEX executions_by_action ON executions (action_id, date_started DESC);

DROP INDEX executions_running_by_action;
CREATE INDEX executions_running_by_action ON executions (action_id) WHERE status = 'Running';

DROP INDEX executions_finished_by_action;
CREATE INDEX executions_finished_by_action ON executions (action_id, date_ended DESC)
    WHERE date_ended IS NOT NULL;

DROP INDEX action_triggers_by_action;
CREATE INDEX action_triggers_by_action ON action_triggers (action_id);
