-- A project's execution history, newest first, read a page at a time from a cursor.
-- The predicate is one only the history queries state (`date_started > '-infinity'`, true of
-- every row). Without statistics the planner was seen choosing any index that starts with a
-- column of the primary key for one-row claims and finishes (see 20261123000004); a partial
-- index can serve a statement only when the statement implies its predicate, so this one
-- cannot compete with the primary key.
CREATE INDEX executions_by_project ON executions (project_id, date_started DESC, execution_id DESC)
    WHERE date_started > '-infinity';
