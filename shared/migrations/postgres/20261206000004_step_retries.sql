-- Step retries. A step's retry policy (JSON, NULL: no retry) is kept beside its settings and
-- copied into each execution's snapshot. A failed try that will be retried leaves its step
-- Pending with retries + 1 and its error, and the execution held (Queued, not_before = the
-- end of the backoff, no outbox row) until release_due publishes it for any worker to claim.
-- executions.retried counts those re-claims, so that the reaper's "lost in N attempts" counts
-- only claims that were lost (attempt - retried).

ALTER TABLE action_steps ADD COLUMN retry text;
ALTER TABLE execution_steps ADD COLUMN retry text,
    ADD COLUMN retries integer NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN retried integer NOT NULL DEFAULT 0;
