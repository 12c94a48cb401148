//! Retention: deleting finished executions past their age, a small batch per write, so the
//! one writer is never held for long. Steps go with them (`ON DELETE CASCADE`).

use super::now;
use super::writer::Write;
use crate::storage::StoreResult;
use sqlx::sqlite::SqliteConnection;

pub(super) async fn delete_expired(
    conn: &mut SqliteConnection,
    default_days: i32,
    limit: i64,
) -> StoreResult<Write<u64>> {
    let at = now();
    // Each row's cutoff is its action's own: `at` less that many days, in the text form
    // times are stored in (see the schema), so the comparison is one of text.
    let done = sqlx::query(
        "DELETE FROM executions WHERE rowid IN ( \
           SELECT e.rowid FROM executions e \
           LEFT JOIN actions a ON a.tenant_id = e.tenant_id AND a.project_id = e.project_id \
             AND a.action_id = e.action_id \
           WHERE e.date_ended IS NOT NULL \
             AND e.date_ended < strftime('%Y-%m-%dT%H:%M:%f+00:00', $1, \
               '-' || COALESCE(a.retention_days, $2) || ' days') \
           ORDER BY e.date_ended LIMIT $3)",
    )
    .bind(at)
    .bind(default_days)
    .bind(limit)
    .execute(&mut *conn)
    .await?;
    let deleted = done.rows_affected();
    Ok(if deleted == 0 {
        Write::Discard(0)
    } else {
        Write::Keep(deleted)
    })
}
