//! The transactional outbox: rows written with their execution, published by relays.

use super::{PgStore, secs};
use crate::storage::rows::{self, OutboxRow};
use crate::storage::{OutboxItem, OutboxStore, StoreResult};
use async_trait::async_trait;
use std::time::Duration;

#[async_trait]
impl OutboxStore for PgStore {
    async fn lease_outbox(&self, limit: i64, lease: Duration) -> StoreResult<Vec<OutboxItem>> {
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "UPDATE outbox SET locked_until = now() + make_interval(secs => $2) \
             WHERE id IN (SELECT id FROM outbox WHERE locked_until < now() \
                          ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, tenant_id, project_id, execution_id, next_step_type, \
               (SELECT e.trace_parent FROM executions e WHERE e.tenant_id = outbox.tenant_id \
                  AND e.project_id = outbox.project_id AND e.execution_id = outbox.execution_id)",
        )
        .bind(limit)
        .bind(secs(lease))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows::outbox_items(rows))
    }

    async fn complete_outbox(&self, ids: &[i64]) -> StoreResult<()> {
        sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
            .bind(ids)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn fail_outbox(&self, ids: &[i64], error: &str, retry_in: Duration) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET locked_until = now() + make_interval(secs => $3), \
               attempts = attempts + 1, last_error = $2 WHERE id = ANY($1)",
        )
        .bind(ids)
        .bind(error)
        .bind(secs(retry_in))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn release_outbox_leases(&self) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE outbox SET locked_until = '-infinity' WHERE locked_until > '-infinity'",
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
