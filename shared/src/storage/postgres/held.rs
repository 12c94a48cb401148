//! Held executions (delayed runs, and executions waiting out a step's retry backoff): Queued
//! with `not_before` set and no outbox row, so nothing publishes or claims them. Releasing one clears `not_before` and writes its outbox row in
//! the same statement, so an execution is never released without being published, nor
//! published twice by two releasing processes (`SKIP LOCKED`).

use super::secs;
use super::work::{QUEUED, RUNNING};
use crate::domain::model::StepRunStatus;
use crate::storage::{Fence, StepResult, StoreResult};
use sqlx::postgres::PgPool;
use std::time::Duration;

pub(super) async fn release_due(pool: &PgPool, limit: i64) -> StoreResult<u64> {
    let done = sqlx::query(concat!(
        "WITH due AS ( \
           SELECT tenant_id, project_id, execution_id FROM executions \
           WHERE not_before <= now() AND status = 'Queued' \
           ORDER BY not_before LIMIT $1 FOR UPDATE SKIP LOCKED), \
         released AS ( \
           UPDATE executions e SET not_before = NULL, requeued_at = now() FROM due d \
           WHERE e.tenant_id = d.tenant_id AND e.project_id = d.project_id \
             AND e.execution_id = d.execution_id \
           RETURNING e.tenant_id, e.project_id, e.execution_id) \
         ",
        publish_rows!("released")
    ))
    .bind(limit)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Ends a failed try of a step that will run again (see [`WorkStore::retry_step`]): one
/// statement, fenced by the claim's attempt on both rows. Statuses are bound, not literals:
/// a literal status could lead the planner to a partial index instead of the primary key.
///
/// [`WorkStore::retry_step`]: crate::storage::WorkStore::retry_step
pub(super) async fn retry_step(
    pool: &PgPool,
    fence: Fence,
    step_number: i32,
    result: StepResult,
    wait: Duration,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "WITH e AS ( \
           UPDATE executions SET status = $10, lease_owner = NULL, lease_expires_at = NULL, \
             not_before = now() + make_interval(secs => $9), retried = retried + 1 \
           WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 AND attempt = $4 \
             AND status = $11 \
           RETURNING 1) \
         UPDATE execution_steps SET status = $12, retries = retries + 1, date_ended = now(), \
           output = $6, log = $7, error = $8 \
         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 AND step_number = $5 \
           AND attempt = $4 AND EXISTS (SELECT 1 FROM e)",
    )
    .bind(fence.scope.tenant_id)
    .bind(fence.scope.project_id)
    .bind(fence.execution_id)
    .bind(fence.attempt)
    .bind(step_number)
    .bind(&result.output)
    .bind(&result.log)
    .bind(&result.error)
    .bind(secs(wait))
    .bind(QUEUED)
    .bind(RUNNING)
    .bind(StepRunStatus::Pending.as_str())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
