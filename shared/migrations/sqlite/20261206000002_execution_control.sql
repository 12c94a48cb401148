-- Execution control: delayed runs and re-runs (the PostgreSQL migration of the same name says
-- what each column means). A held execution (not_before set) has no outbox row and no claim
-- takes it until release_due clears not_before and writes its outbox row.
ALTER TABLE executions ADD COLUMN run_at TEXT;
ALTER TABLE executions ADD COLUMN not_before TEXT;
ALTER TABLE executions ADD COLUMN rerun_of BLOB;
CREATE INDEX executions_held ON executions (not_before) WHERE not_before IS NOT NULL;
