//! The worker's side: claiming an execution, heartbeats, step results, the end of an
//! execution, releasing it, and reaping executions whose worker was lost. Every write after the
//! claim is fenced: it matches only while the execution is Running under the same attempt.
//!
//! The hot path goes through the batcher of `batched.rs`: the claim (which also starts the
//! first step), each step's result (which also starts the next step), and the finish (which
//! also records the last step's result) are written with whatever else of the worker's is
//! ready, in one commit. Statuses in the statements here are bound, not literal: the store's
//! connections use generic plans, in which a bound status cannot select a partial index such
//! as "Queued executions". A literal could, and without statistics the planner was seen
//! scanning that whole index on every claim instead of using the primary key.

use super::batched::{ClaimItem, FinishItem, StepItem, WorkItem};
use super::{PgStore, decode, secs};
use crate::domain::ids::{ExecutionId, Scope};
use crate::domain::model::ExecutionStatus;
use crate::domain::policy::outcome::{self, Reaped};
use crate::storage::{
    ClaimOutcome, Fence, FinalOutcome, FinalStep, ReapReport, StepResult, StoreResult, WorkStore,
};
use async_trait::async_trait;
use sqlx::postgres::PgConnection;
use sqlx::{Postgres, Transaction};
use std::time::Duration;

pub(super) const RUNNING: &str = ExecutionStatus::Running.as_str();
pub(super) const QUEUED: &str = ExecutionStatus::Queued.as_str();

/// Ends the steps of an execution that was stopped from outside (cancel, deadline, lost
/// worker): the running one fails with `reason`, those not reached are skipped.
pub(super) async fn close_steps(
    conn: &mut PgConnection,
    scope: Scope,
    execution_id: ExecutionId,
    reason: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE execution_steps SET \
           status = CASE status WHEN 'Running' THEN 'Failed' ELSE 'Skipped' END, \
           error = CASE status WHEN 'Running' THEN $4 ELSE error END, \
           date_ended = CASE status WHEN 'Running' THEN now() ELSE date_ended END \
         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
           AND status IN ('Running', 'Pending')",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(execution_id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks the execution row if it is still Running under `fence`; `false` otherwise.
async fn lock_fenced(tx: &mut Transaction<'_, Postgres>, fence: Fence) -> StoreResult<bool> {
    let row: Option<(i32,)> = sqlx::query_as(
        "SELECT attempt FROM executions WHERE tenant_id = $1 AND project_id = $2 \
           AND execution_id = $3 AND attempt = $4 AND status = $5 FOR UPDATE",
    )
    .bind(fence.scope.tenant_id)
    .bind(fence.scope.project_id)
    .bind(fence.execution_id)
    .bind(fence.attempt)
    .bind(RUNNING)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.is_some())
}

#[async_trait]
impl WorkStore for PgStore {
    async fn claim_execution(
        &self,
        scope: Scope,
        execution_id: ExecutionId,
        worker: &str,
        lease: Duration,
    ) -> StoreResult<ClaimOutcome> {
        // The deadline is set by the first claim and kept by later ones: maxRunTime bounds the
        // whole execution, retries included. Time is the database's, not the worker's.
        let claimed = self
            .batchers
            .work
            .submit(WorkItem::Claim(ClaimItem {
                scope,
                execution_id,
                worker: worker.to_string(),
                lease,
            }))
            .await?
            .claimed()?;
        if let Some(claimed) = claimed {
            return Ok(ClaimOutcome::Claimed(claimed));
        }
        // Not claimed: waiting for a slot or its time, a duplicate delivery, or a message
        // naming no execution.
        let status: Option<(String, bool)> = sqlx::query_as(
            "SELECT status, waiting_slot OR not_before IS NOT NULL FROM executions \
             WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(execution_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match status {
            Some((s, waiting)) => match decode::<ExecutionStatus>("status", &s)? {
                ExecutionStatus::Queued if waiting => ClaimOutcome::Waiting,
                status => ClaimOutcome::NotQueued(status),
            },
            None => ClaimOutcome::Unknown,
        })
    }

    async fn undo_unanswered_claim(
        &self,
        scope: Scope,
        execution_id: ExecutionId,
        worker: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE executions SET status = $5, attempt = attempt - 1, lease_owner = NULL, \
                 lease_expires_at = NULL \
             WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
               AND status = $6 AND lease_owner = $4",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(execution_id)
        .bind(worker)
        .bind(QUEUED)
        .bind(RUNNING)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn heartbeat(&self, fence: Fence, lease: Duration) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE executions SET lease_expires_at = now() + make_interval(secs => $5) \
             WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 AND attempt = $4 \
               AND status = $6",
        )
        .bind(fence.scope.tenant_id)
        .bind(fence.scope.project_id)
        .bind(fence.execution_id)
        .bind(fence.attempt)
        .bind(secs(lease))
        .bind(RUNNING)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_step(
        &self,
        fence: Fence,
        step_number: i32,
        result: StepResult,
        next_step: i32,
    ) -> StoreResult<bool> {
        self.batchers
            .work
            .submit(WorkItem::StepResult(StepItem {
                fence,
                step_number,
                result,
                next_step,
            }))
            .await?
            .landed()
    }

    async fn finish_execution(
        &self,
        fence: Fence,
        outcome: FinalOutcome,
        last_step: Option<FinalStep>,
    ) -> StoreResult<bool> {
        self.batchers
            .work
            .submit(WorkItem::Finish(FinishItem {
                fence,
                outcome,
                last_step,
            }))
            .await?
            .landed()
    }

    async fn release_execution(&self, fence: Fence) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        if !lock_fenced(&mut tx, fence).await? {
            return Ok(false);
        }
        requeue(&mut tx, fence.scope, fence.execution_id).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn requeue_running(&self) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let running: Vec<(uuid::Uuid, uuid::Uuid, ExecutionId)> = sqlx::query_as(
            "SELECT tenant_id, project_id, execution_id FROM executions \
             WHERE status = 'Running' FOR UPDATE",
        )
        .fetch_all(&mut *tx)
        .await?;
        for (tenant_id, project_id, execution_id) in &running {
            let scope = Scope {
                tenant_id: (*tenant_id).into(),
                project_id: (*project_id).into(),
            };
            requeue(&mut tx, scope, *execution_id).await?;
        }
        tx.commit().await?;
        Ok(running.len() as u64)
    }

    async fn reap_expired(
        &self,
        max_attempts: i32,
        uptime: Duration,
        limit: i64,
    ) -> StoreResult<ReapReport> {
        let mut tx = self.pool.begin().await?;
        // SKIP LOCKED: reapers in other processes take other rows instead of waiting; a worker
        // finishing the same row at this moment is fenced out by the status change.
        // `attempt - retried`: the claims that were lost, not ended by a step's retry.
        type Expired = (uuid::Uuid, uuid::Uuid, ExecutionId, i32, bool, i32, i32);
        let expired: Vec<Expired> = sqlx::query_as(
            "SELECT tenant_id, project_id, execution_id, attempt, deadline_at <= now(), \
               max_run_time, attempt - retried \
             FROM executions \
             WHERE status = 'Running' AND (lease_expires_at < now() \
               OR deadline_at < now() - interval '30 seconds') \
               AND pg_postmaster_start_time() < now() - make_interval(secs => $2) \
             ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(limit)
        .bind(secs(uptime))
        .fetch_all(&mut *tx)
        .await?;
        let mut report = ReapReport::default();
        for (tenant_id, project_id, execution_id, attempt, past_deadline, max_run_time, lost) in
            expired
        {
            let scope = Scope {
                tenant_id: tenant_id.into(),
                project_id: project_id.into(),
            };
            match outcome::reap(lost, max_attempts, past_deadline, max_run_time) {
                Reaped::Fail(notes) => {
                    sqlx::query(
                        "UPDATE executions SET status = 'Failed', date_ended = now(), \
                           lease_owner = NULL, lease_expires_at = NULL, notes = $5 \
                         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
                           AND attempt = $4",
                    )
                    .bind(tenant_id)
                    .bind(project_id)
                    .bind(execution_id)
                    .bind(attempt)
                    .bind(&notes)
                    .execute(&mut *tx)
                    .await?;
                    close_steps(&mut tx, scope, execution_id, &notes).await?;
                    report.failed += 1;
                }
                Reaped::Requeue => {
                    requeue(&mut tx, scope, execution_id).await?;
                    report.requeued += 1;
                }
            }
        }
        tx.commit().await?;
        Ok(report)
    }

    async fn requeue_stale(&self, older_than: Duration, limit: i64) -> StoreResult<u64> {
        let done = sqlx::query(concat!(
            "WITH stale AS ( \
               SELECT tenant_id, project_id, execution_id FROM executions e \
               WHERE status = 'Queued' \
                 AND COALESCE(requeued_at, date_started) < now() - make_interval(secs => $1) \
                 AND not_before IS NULL AND NOT waiting_slot \
                 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.execution_id = e.execution_id) \
               ORDER BY date_started LIMIT $2 FOR UPDATE SKIP LOCKED), \
             marked AS ( \
               UPDATE executions e SET requeued_at = now() FROM stale s \
               WHERE e.tenant_id = s.tenant_id AND e.project_id = s.project_id \
                 AND e.execution_id = s.execution_id) ",
            publish_rows!("stale")
        ))
        .bind(secs(older_than))
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn retry_step(
        &self,
        fence: Fence,
        step_number: i32,
        result: StepResult,
        wait: Duration,
    ) -> StoreResult<bool> {
        super::held::retry_step(&self.pool, fence, step_number, result, wait).await
    }

    async fn release_due(&self, limit: i64) -> StoreResult<u64> {
        let due = super::held::release_due(&self.pool, limit).await?;
        let slots = super::concurrency::release_waiting(&self.pool, limit).await?;
        Ok(due + slots)
    }

    async fn delete_expired(&self, default_days: i32, limit: i64) -> StoreResult<u64> {
        super::retention::delete_expired(&self.pool, default_days, limit).await
    }
}

/// Puts a Running execution (locked by the caller) back in the queue: Queued, no lease, the
/// step that was running to run again in the next attempt, and an outbox row to publish.
async fn requeue(
    conn: &mut PgConnection,
    scope: Scope,
    execution_id: ExecutionId,
) -> StoreResult<()> {
    sqlx::query(
        "WITH e AS ( \
           UPDATE executions SET status = $4, lease_owner = NULL, lease_expires_at = NULL \
           WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3), \
         s AS ( \
           UPDATE execution_steps SET status = 'Pending', date_started = NULL \
           WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
             AND status = 'Running') \
         INSERT INTO outbox (tenant_id, project_id, execution_id, next_step_type) \
         VALUES ($1, $2, $3, (SELECT step_type FROM execution_steps \
           WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
             AND status <> 'Completed' ORDER BY step_number LIMIT 1))",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(execution_id)
    .bind(QUEUED)
    .execute(conn)
    .await?;
    Ok(())
}
