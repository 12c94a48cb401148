//! Reading execution history: one project's or one action's executions, newest first, a page
//! at a time; the same four statements as PostgreSQL's (`postgres/history.rs` says why four).
//! Times are compared as the text SQLite stores them, which sorts in time order.

use crate::domain::ids::Scope;
use crate::domain::model::{Execution, ExecutionStatus, TriggerKind};
use crate::storage::rows::ExecutionRow;
use crate::storage::{ExecutionFilter, StoreResult};
use sqlx::sqlite::SqlitePool;

/// `$1`-`$9`: tenant, project, action, status, trigger, since, until, cursor time, cursor id;
/// `$10`, `$11`: limit, offset.
macro_rules! list {
    ($owner:literal, $position:literal) => {
        concat!(
            "SELECT action_id, execution_id, date_started, date_ended, status, notes \
             FROM executions WHERE tenant_id = $1 AND project_id = $2 AND ",
            $owner,
            " AND ($4 IS NULL OR status = $4) \
              AND ($5 IS NULL OR trigger = $5) \
              AND ($6 IS NULL OR date_started >= $6) \
              AND ($7 IS NULL OR date_started < $7) AND ",
            $position,
            " ORDER BY date_started DESC, execution_id DESC LIMIT $10 OFFSET $11"
        )
    };
}
const OF_ACTION: &str = list!("action_id = $3", "$8 IS NULL AND $9 IS NULL");
const OF_ACTION_AFTER: &str = list!("action_id = $3", "(date_started, execution_id) < ($8, $9)");
const OF_PROJECT: &str = list!("$3 IS NULL", "$8 IS NULL AND $9 IS NULL");
const OF_PROJECT_AFTER: &str = list!("$3 IS NULL", "(date_started, execution_id) < ($8, $9)");

pub(super) async fn list(
    pool: &SqlitePool,
    scope: Scope,
    filter: ExecutionFilter,
) -> StoreResult<Vec<Execution>> {
    let sql = match (filter.action_id.is_some(), filter.after.is_some()) {
        (true, false) => OF_ACTION,
        (true, true) => OF_ACTION_AFTER,
        (false, false) => OF_PROJECT,
        (false, true) => OF_PROJECT_AFTER,
    };
    let rows: Vec<ExecutionRow> = sqlx::query_as(sql)
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(filter.action_id)
        .bind(filter.status.map(ExecutionStatus::as_str))
        .bind(filter.trigger.map(TriggerKind::as_str))
        .bind(filter.since)
        .bind(filter.until)
        .bind(filter.after.map(|c| c.at))
        .bind(filter.after.map(|c| c.id))
        .bind(filter.limit)
        .bind(filter.offset)
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(ExecutionRow::into_execution).collect()
}
