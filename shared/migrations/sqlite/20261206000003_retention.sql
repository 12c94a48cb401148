-- Retention (the PostgreSQL migration of the same name says what and why).
ALTER TABLE actions ADD COLUMN retention_days INTEGER
    CHECK (retention_days BETWEEN 1 AND 36500);
CREATE INDEX executions_ended ON executions (date_ended) WHERE date_ended IS NOT NULL;
