//! Held executions (delayed runs): Queued with `not_before` set and no outbox row, so nothing
//! publishes or claims them. Releasing one clears `not_before` and writes its outbox row in
//! the same statement, so an execution is never released without being published, nor
//! published twice by two releasing processes (`SKIP LOCKED`).

use crate::storage::StoreResult;
use sqlx::postgres::PgPool;

pub(super) async fn release_due(pool: &PgPool, limit: i64) -> StoreResult<u64> {
    let done = sqlx::query(
        "WITH due AS ( \
           SELECT tenant_id, project_id, execution_id FROM executions \
           WHERE not_before <= now() AND status = 'Queued' \
           ORDER BY not_before LIMIT $1 FOR UPDATE SKIP LOCKED), \
         released AS ( \
           UPDATE executions e SET not_before = NULL, requeued_at = now() FROM due d \
           WHERE e.tenant_id = d.tenant_id AND e.project_id = d.project_id \
             AND e.execution_id = d.execution_id \
           RETURNING e.tenant_id, e.project_id, e.execution_id) \
         INSERT INTO outbox (tenant_id, project_id, execution_id, next_step_type) \
         SELECT r.tenant_id, r.project_id, r.execution_id, (SELECT st.step_type \
           FROM execution_steps st WHERE st.tenant_id = r.tenant_id \
             AND st.project_id = r.project_id AND st.execution_id = r.execution_id \
             AND st.status <> 'Completed' ORDER BY st.step_number LIMIT 1) \
         FROM released r",
    )
    .bind(limit)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
