-- The type of the step a claim of the execution will start, carried into the queue message.
-- A worker claims an execution (and so charges it an attempt) only once that step can start
-- soon: for a Python step, while it holds fewer than two Python executions per runner.
-- Executions waiting beyond that stay unacknowledged messages, which a lost worker gives
-- back to the queue uncharged.
-- NULL when the execution has no step left to start; rows written before this column existed
-- carry none either, and their messages are claimed as before.
ALTER TABLE outbox ADD COLUMN next_step_type text;
