-- Step retries (the PostgreSQL migration of the same name says what each column means).
ALTER TABLE action_steps ADD COLUMN retry TEXT;
ALTER TABLE execution_steps ADD COLUMN retry TEXT;
ALTER TABLE execution_steps ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN retried INTEGER NOT NULL DEFAULT 0;
