-- Execution control: delayed runs and re-runs.
--
-- run_at: the start time a caller asked for (shown as runAt). not_before: while set, the
-- execution is held: Queued, with no outbox row, and no claim takes it (a stray message finds
-- it not claimable and is dropped; see the claim in 20261206000007). release_due clears it
-- and writes the outbox row in one statement once the time has come. A delayed run is held until its run_at; the same column
-- will hold executions waiting for a retry's backoff.
-- rerun_of: the execution a re-run repeats.

ALTER TABLE executions ADD COLUMN run_at timestamptz, ADD COLUMN not_before timestamptz,
    ADD COLUMN rerun_of uuid;

-- Held executions by due time. Partial: a statement can use it only if it implies
-- not_before IS NOT NULL, so it cannot compete with the primary key for one-row claims and
-- finishes (see 20261123000004).
CREATE INDEX executions_held ON executions (not_before) WHERE not_before IS NOT NULL;
