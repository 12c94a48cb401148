-- Concurrency limits. An action's maxConcurrency and concurrencyKey (the template as given,
-- and the path into the input it names) and the limit they make (concurrency_limit, decided
-- in Rust: NULL for none). Each execution takes the limit and its key's value (concurrency_key,
-- '' when the action has no key or the input no value) when it is written. A limited
-- execution that finds no free slot at its claim waits (waiting_slot): Queued, with no queue
-- message, until release_due gives its group's free slots to the oldest waiting ones.
-- Slots are counted from the Running executions themselves, so nothing can leak one: a lost
-- worker's slot frees when the reaper takes its lease.

ALTER TABLE actions ADD COLUMN max_concurrency integer
        CHECK (max_concurrency BETWEEN 1 AND 10000),
    ADD COLUMN concurrency_key text, ADD COLUMN concurrency_key_path text[],
    ADD COLUMN concurrency_limit integer;
ALTER TABLE executions ADD COLUMN concurrency_limit integer,
    ADD COLUMN concurrency_key text NOT NULL DEFAULT '',
    ADD COLUMN waiting_slot boolean NOT NULL DEFAULT false;

-- Waiting executions by action, oldest first. Partial (waiting_slot), so that no statement
-- that does not state it can be planned onto it (see 20261206000001).
CREATE INDEX executions_waiting ON executions (action_id, date_started) WHERE waiting_slot;
-- A group's Running and Queued executions, for the counts of a claim and a release.
CREATE INDEX executions_by_group ON executions (action_id, concurrency_key)
    WHERE status IN ('Running', 'Queued');
