//! The transactional outbox: rows written with their execution, published by the relay.

use super::writer::Write;
use super::{SqliteStore, after, json_list, now};
use crate::domain::ids::{ExecutionId, Scope};
use crate::storage::rows::{self, OutboxRow};
use crate::storage::{OutboxItem, OutboxStore, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteConnection;
use std::time::Duration;

/// Adds the outbox row of an execution, naming the type of the step its next claim starts (the
/// first not completed), in the caller's transaction.
pub(super) async fn enqueue(
    conn: &mut SqliteConnection,
    scope: Scope,
    execution_id: ExecutionId,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO outbox (tenant_id, project_id, execution_id, next_step_type, created_at) \
         VALUES ($1, $2, $3, (SELECT step_type FROM execution_steps \
           WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
             AND status <> 'Completed' ORDER BY step_number LIMIT 1), $4)",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(execution_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn lease_outbox(&self, limit: i64, lease: Duration) -> StoreResult<Vec<OutboxItem>> {
        let rows: Vec<OutboxRow> = self
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let at = now();
                    let rows = sqlx::query_as(
                        "UPDATE outbox SET locked_until = $3 WHERE id IN \
                           (SELECT id FROM outbox WHERE locked_until < $2 ORDER BY id LIMIT $1) \
                         RETURNING id, tenant_id, project_id, execution_id, next_step_type, \
                           (SELECT e.trace_parent FROM executions e \
                             WHERE e.tenant_id = outbox.tenant_id \
                               AND e.project_id = outbox.project_id \
                               AND e.execution_id = outbox.execution_id)",
                    )
                    .bind(limit)
                    .bind(at)
                    .bind(after(at, lease))
                    .fetch_all(conn)
                    .await?;
                    Ok(Write::Keep(rows))
                })
            })
            .await?;
        Ok(rows::outbox_items(rows))
    }

    async fn complete_outbox(&self, ids: &[i64]) -> StoreResult<()> {
        let ids = json_list(ids)?;
        self.writer
            .write(move |conn| {
                Box::pin(async move {
                    sqlx::query("DELETE FROM outbox WHERE id IN (SELECT value FROM json_each($1))")
                        .bind(ids)
                        .execute(conn)
                        .await?;
                    Ok(Write::Keep(()))
                })
            })
            .await
    }

    async fn fail_outbox(&self, ids: &[i64], error: &str, retry_in: Duration) -> StoreResult<()> {
        let ids = json_list(ids)?;
        let error = error.to_string();
        self.writer
            .write(move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "UPDATE outbox SET locked_until = $3, attempts = attempts + 1, \
                           last_error = $2 WHERE id IN (SELECT value FROM json_each($1))",
                    )
                    .bind(ids)
                    .bind(error)
                    .bind(after(now(), retry_in))
                    .execute(conn)
                    .await?;
                    Ok(Write::Keep(()))
                })
            })
            .await
    }

    async fn release_outbox_leases(&self) -> StoreResult<u64> {
        self.writer
            .write(move |conn| {
                Box::pin(async move {
                    let done =
                        sqlx::query("UPDATE outbox SET locked_until = '' WHERE locked_until > ''")
                            .execute(conn)
                            .await?;
                    Ok(Write::Keep(done.rows_affected()))
                })
            })
            .await
    }
}
