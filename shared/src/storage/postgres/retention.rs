//! Retention: deleting finished executions past their age, a small batch per call. Steps go
//! with them (`ON DELETE CASCADE`). Only finished executions are candidates, and `SKIP LOCKED`
//! passes over rows another transaction holds, so a deletion never waits for, nor holds up,
//! a claim or a finish.

use crate::storage::StoreResult;
use sqlx::postgres::PgPool;

pub(super) async fn delete_expired(
    pool: &PgPool,
    default_days: i32,
    limit: i64,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "WITH doomed AS ( \
           SELECT e.tenant_id, e.project_id, e.execution_id FROM executions e \
           LEFT JOIN actions a ON a.tenant_id = e.tenant_id AND a.project_id = e.project_id \
             AND a.action_id = e.action_id \
           WHERE e.date_ended > '-infinity' \
             AND e.date_ended < now() - make_interval(days => COALESCE(a.retention_days, $1)) \
           ORDER BY e.date_ended LIMIT $2 FOR UPDATE OF e SKIP LOCKED) \
         DELETE FROM executions e USING doomed d \
         WHERE e.tenant_id = d.tenant_id AND e.project_id = d.project_id \
           AND e.execution_id = d.execution_id",
    )
    .bind(default_days)
    .bind(limit)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
