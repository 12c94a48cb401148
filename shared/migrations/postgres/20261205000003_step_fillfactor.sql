-- Room on each page of execution_steps for its rows' next versions. A step row is written
-- three times (the snapshot at execute, Running at its start, its result at its end), and
-- none of those updates changes an indexed column, so each can be a HOT update (no new index
-- entry) if its page has room. Rows are inserted in time order and updated milliseconds later,
-- when their page is already full at the default fillfactor of 100: measured, 9 of 20,000
-- updates were HOT; at 75, 8,099, and the claim and finish functions ran 17 % faster.
-- (executions cannot gain this way: every claim and finish changes its status, which partial
-- indexes depend on.) Pages written before this keep their layout.
ALTER TABLE execution_steps SET (fillfactor = 75);
