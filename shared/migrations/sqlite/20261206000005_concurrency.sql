-- Concurrency limits (the PostgreSQL migration of the same name says what each column means;
-- concurrency_key_path is SQLite's JSON path here, '$."customer"."id"').
ALTER TABLE actions ADD COLUMN max_concurrency INTEGER
    CHECK (max_concurrency BETWEEN 1 AND 10000);
ALTER TABLE actions ADD COLUMN concurrency_key TEXT;
ALTER TABLE actions ADD COLUMN concurrency_key_path TEXT;
ALTER TABLE actions ADD COLUMN concurrency_limit INTEGER;
ALTER TABLE executions ADD COLUMN concurrency_limit INTEGER;
ALTER TABLE executions ADD COLUMN concurrency_key TEXT NOT NULL DEFAULT '';
ALTER TABLE executions ADD COLUMN waiting_slot INTEGER NOT NULL DEFAULT 0;
CREATE INDEX executions_waiting ON executions (action_id, date_started) WHERE waiting_slot;
CREATE INDEX executions_by_group ON executions (action_id, concurrency_key)
    WHERE status IN ('Running', 'Queued');
