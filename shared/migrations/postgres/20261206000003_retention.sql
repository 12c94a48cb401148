-- Retention: finished executions older than their action's retention_days (NULL: the
-- service's ACTUATE_RETENTION_DAYS) are deleted in small batches by a background task.
ALTER TABLE actions ADD COLUMN retention_days integer
    CHECK (retention_days BETWEEN 1 AND 36500);

-- Finished executions, oldest first. The predicate is one only the retention statement states
-- (true of every finished execution): as with executions_by_project (20261206000001), a
-- partial index no other statement implies cannot be chosen for them without statistics.
CREATE INDEX executions_ended ON executions (date_ended) WHERE date_ended > '-infinity';
