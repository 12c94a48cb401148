-- Each execution keeps the W3C traceparent of the request that created it (see the PostgreSQL
-- migration of the same name).
ALTER TABLE executions ADD COLUMN trace_parent text;
