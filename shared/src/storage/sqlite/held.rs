//! Held executions (delayed runs, and executions waiting out a step's retry backoff): Queued
//! with `not_before` set and no outbox row, so nothing publishes or claims them. Releasing one clears `not_before` and writes its outbox row in
//! the same write (the writer's transaction).

use super::now;
use super::writer::Write;
use crate::domain::ids::{ExecutionId, ProjectId, Scope, TenantId};
use crate::storage::{Fence, StepResult, StoreResult};
use sqlx::sqlite::SqliteConnection;
use std::time::Duration;

pub(super) async fn release_due(
    conn: &mut SqliteConnection,
    limit: i64,
) -> StoreResult<Write<u64>> {
    let at = now();
    let due: Vec<(TenantId, ProjectId, ExecutionId)> = sqlx::query_as(
        "UPDATE executions SET not_before = NULL, requeued_at = $1 \
         WHERE rowid IN (SELECT rowid FROM executions \
           WHERE not_before <= $1 AND status = 'Queued' ORDER BY not_before LIMIT $2) \
         RETURNING tenant_id, project_id, execution_id",
    )
    .bind(at)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut due = due;
    due.extend(super::concurrency::release_waiting(conn, limit).await?);
    for (tenant_id, project_id, execution_id) in &due {
        let scope = Scope {
            tenant_id: *tenant_id,
            project_id: *project_id,
        };
        super::outbox::enqueue(conn, scope, *execution_id, at).await?;
    }
    Ok(if due.is_empty() {
        Write::Discard(0)
    } else {
        Write::Keep(due.len() as u64)
    })
}

/// Ends a failed try of a step that will run again (see
/// [`WorkStore::retry_step`](crate::storage::WorkStore::retry_step)), fenced by the claim's
/// attempt on both rows.
pub(super) async fn retry_step(
    conn: &mut SqliteConnection,
    fence: Fence,
    step_number: i32,
    result: StepResult,
    wait: Duration,
) -> StoreResult<Write<bool>> {
    // The process's clock is the database's here.
    let not_before = super::after(now(), wait);
    let held = sqlx::query(
        "UPDATE executions SET status = 'Queued', lease_owner = NULL, lease_expires_at = NULL, \
           not_before = $5, retried = retried + 1 \
         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 AND attempt = $4 \
           AND status = 'Running'",
    )
    .bind(fence.scope.tenant_id)
    .bind(fence.scope.project_id)
    .bind(fence.execution_id)
    .bind(fence.attempt)
    .bind(not_before)
    .execute(&mut *conn)
    .await?;
    if held.rows_affected() == 0 {
        return Ok(Write::Discard(false));
    }
    let step = sqlx::query(
        "UPDATE execution_steps SET status = 'Pending', retries = retries + 1, date_ended = $9, \
           output = $6, log = $7, error = $8 \
         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 AND step_number = $5 \
           AND attempt = $4",
    )
    .bind(fence.scope.tenant_id)
    .bind(fence.scope.project_id)
    .bind(fence.execution_id)
    .bind(fence.attempt)
    .bind(step_number)
    .bind(&result.output)
    .bind(&result.log)
    .bind(&result.error)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(Write::Keep(step.rows_affected() == 1))
}
