-- A project's execution history, newest first, a page at a time (the PostgreSQL migration of
-- the same name says why it leads with project_id).
CREATE INDEX executions_by_project ON executions (project_id, date_started DESC, execution_id DESC);
