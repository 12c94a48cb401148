//! The worker's side: claiming an execution, heartbeats, step results, the end of an
//! execution, releasing it, and reaping executions whose worker was lost. Every write after the
//! claim is fenced: it matches only while the execution is Running under the same attempt.
//! Each call is one write of the writer (a savepoint in a shared commit), as each is one
//! statement on PostgreSQL.

use super::writer::Write;
use super::{SqliteStore, after, decode, now};
use crate::domain::ids::{ActionId, ExecutionId, ProjectId, Scope, StepId, TenantId};
use crate::domain::model::{ExecutionStatus, StepRunStatus, StepType, TriggerKind};
use crate::domain::policy::outcome::{self, Reaped};
use crate::storage::rows;
use crate::storage::{
    ClaimOutcome, ClaimedExecution, ClaimedStep, Fence, FinalOutcome, FinalStep, ReapReport,
    StepResult, StoreResult, WorkStore,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::sqlite::SqliteConnection;
use std::time::Duration;

/// How long past its deadline an execution whose worker still holds a lease is left to that
/// worker (which fails it itself, with the step's own note) before a reaper does.
const DEADLINE_SLACK: Duration = Duration::from_secs(30);

/// Ends the steps of an execution that ended: `last` (its step number, result and the claim's
/// attempt), when given, gets its own result if it is still Running under that attempt; of the
/// others, the running one fails with `reason` and those not reached are skipped. One
/// statement, for the finish on the hot path as for cancel and the reaper.
pub(super) async fn end_steps(
    conn: &mut SqliteConnection,
    scope: Scope,
    execution_id: ExecutionId,
    last: Option<(i32, &StepResult, i32)>,
    reason: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let (number, result, attempt) = match last {
        Some((number, result, attempt)) => (Some(number), Some(result), Some(attempt)),
        None => (None, None, None),
    };
    sqlx::query(
        "UPDATE execution_steps SET \
           status = CASE WHEN step_number IS $4 THEN $5 \
             WHEN status = 'Running' THEN 'Failed' ELSE 'Skipped' END, \
           date_ended = CASE WHEN step_number IS $4 OR status = 'Running' THEN $6 \
             ELSE date_ended END, \
           output = CASE WHEN step_number IS $4 THEN $7 ELSE output END, \
           log = CASE WHEN step_number IS $4 THEN $8 ELSE log END, \
           error = CASE WHEN step_number IS $4 THEN $9 \
             WHEN status = 'Running' THEN $10 ELSE error END \
         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
           AND ((step_number IS $4 AND status = 'Running' AND attempt IS $11) \
             OR (step_number IS NOT $4 AND status IN ('Running', 'Pending')))",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(execution_id)
    .bind(number)
    .bind(result.map(|r| r.status().as_str()))
    .bind(at)
    .bind(result.and_then(|r| r.output.as_ref()))
    .bind(result.and_then(|r| r.log.as_deref()))
    .bind(result.and_then(|r| r.error.as_deref()))
    .bind(reason)
    .bind(attempt)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether the execution is still Running under `fence`.
async fn holds(conn: &mut SqliteConnection, fence: Fence) -> StoreResult<bool> {
    let row: Option<(i32,)> = sqlx::query_as(
        "SELECT attempt FROM executions WHERE tenant_id = $1 AND project_id = $2 \
           AND execution_id = $3 AND attempt = $4 AND status = 'Running'",
    )
    .bind(fence.scope.tenant_id)
    .bind(fence.scope.project_id)
    .bind(fence.execution_id)
    .bind(fence.attempt)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// Puts a Running execution back in the queue: Queued, no lease, the step that was running to
/// run again in the next attempt, and an outbox row to publish.
async fn requeue(
    conn: &mut SqliteConnection,
    scope: Scope,
    execution_id: ExecutionId,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE executions SET status = 'Queued', lease_owner = NULL, lease_expires_at = NULL \
         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(execution_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE execution_steps SET status = 'Pending', date_started = NULL \
         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 AND status = 'Running'",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(execution_id)
    .execute(&mut *conn)
    .await?;
    super::outbox::enqueue(conn, scope, execution_id, at).await
}

/// An expired claim: tenant, project, execution, deadline, maxRunTime, and the claims that
/// were lost rather than ended by a step's retry (attempt - retried).
type Expired = (
    TenantId,
    ProjectId,
    ExecutionId,
    Option<DateTime<Utc>>,
    i32,
    i32,
);

type ClaimRow = (
    i32,
    ActionId,
    String,
    String,
    Option<Value>,
    i32,
    DateTime<Utc>,
);

#[async_trait]
impl WorkStore for SqliteStore {
    async fn claim_execution(
        &self,
        scope: Scope,
        execution_id: ExecutionId,
        worker: &str,
        lease: Duration,
    ) -> StoreResult<ClaimOutcome> {
        let worker = worker.to_string();
        self.writer
            .write(move |conn| Box::pin(claim(conn, scope, execution_id, worker, lease)))
            .await
    }

    async fn undo_unanswered_claim(
        &self,
        scope: Scope,
        execution_id: ExecutionId,
        worker: &str,
    ) -> StoreResult<bool> {
        let worker = worker.to_string();
        self.writer
            .write(move |conn| {
                Box::pin(async move {
                    let done = sqlx::query(
                        "UPDATE executions SET status = 'Queued', attempt = attempt - 1, \
                             lease_owner = NULL, lease_expires_at = NULL \
                         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
                           AND status = 'Running' AND lease_owner = $4",
                    )
                    .bind(scope.tenant_id)
                    .bind(scope.project_id)
                    .bind(execution_id)
                    .bind(worker)
                    .execute(conn)
                    .await?;
                    Ok(Write::Keep(done.rows_affected() == 1))
                })
            })
            .await
    }

    async fn heartbeat(&self, fence: Fence, lease: Duration) -> StoreResult<bool> {
        self.writer
            .write(move |conn| {
                Box::pin(async move {
                    let done = sqlx::query(
                        "UPDATE executions SET lease_expires_at = $5 \
                         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
                           AND attempt = $4 AND status = 'Running'",
                    )
                    .bind(fence.scope.tenant_id)
                    .bind(fence.scope.project_id)
                    .bind(fence.execution_id)
                    .bind(fence.attempt)
                    .bind(after(now(), lease))
                    .execute(conn)
                    .await?;
                    Ok(Write::Keep(done.rows_affected() == 1))
                })
            })
            .await
    }

    async fn finish_step(
        &self,
        fence: Fence,
        step_number: i32,
        result: StepResult,
        next_step: i32,
    ) -> StoreResult<bool> {
        self.writer
            .write(move |conn| Box::pin(finish_step(conn, fence, step_number, result, next_step)))
            .await
    }

    async fn finish_execution(
        &self,
        fence: Fence,
        outcome: FinalOutcome,
        last_step: Option<FinalStep>,
    ) -> StoreResult<bool> {
        self.writer
            .write(move |conn| Box::pin(finish_execution(conn, fence, outcome, last_step)))
            .await
    }

    async fn release_execution(&self, fence: Fence) -> StoreResult<bool> {
        self.writer
            .write(move |conn| {
                Box::pin(async move {
                    if !holds(conn, fence).await? {
                        return Ok(Write::Discard(false));
                    }
                    requeue(conn, fence.scope, fence.execution_id, now()).await?;
                    Ok(Write::Keep(true))
                })
            })
            .await
    }

    async fn requeue_running(&self) -> StoreResult<u64> {
        self.writer
            .write(move |conn| Box::pin(requeue_running(conn)))
            .await
    }

    async fn reap_expired(
        &self,
        max_attempts: i32,
        uptime: Duration,
        limit: i64,
    ) -> StoreResult<ReapReport> {
        // A lease taken before this store was opened could not be renewed while no process had
        // it open: judge leases only once this one has been open for `uptime`.
        if self.opened.elapsed() < uptime {
            return Ok(ReapReport::default());
        }
        self.writer
            .write(move |conn| Box::pin(reap(conn, max_attempts, limit)))
            .await
    }

    async fn requeue_stale(&self, older_than: Duration, limit: i64) -> StoreResult<u64> {
        self.writer
            .write(move |conn| Box::pin(requeue_stale(conn, older_than, limit)))
            .await
    }

    async fn retry_step(
        &self,
        fence: Fence,
        step_number: i32,
        result: StepResult,
        wait: Duration,
    ) -> StoreResult<bool> {
        self.writer
            .write(move |conn| {
                Box::pin(super::held::retry_step(
                    conn,
                    fence,
                    step_number,
                    result,
                    wait,
                ))
            })
            .await
    }

    async fn release_due(&self, limit: i64) -> StoreResult<u64> {
        self.writer
            .write(move |conn| Box::pin(super::held::release_due(conn, limit)))
            .await
    }

    async fn delete_expired(&self, default_days: i32, limit: i64) -> StoreResult<u64> {
        self.writer
            .write(move |conn| {
                Box::pin(super::retention::delete_expired(conn, default_days, limit))
            })
            .await
    }
}

async fn claim(
    conn: &mut SqliteConnection,
    scope: Scope,
    execution_id: ExecutionId,
    worker: String,
    lease: Duration,
) -> StoreResult<Write<ClaimOutcome>> {
    if !super::concurrency::claimable(conn, scope, execution_id).await? {
        return Ok(Write::Keep(ClaimOutcome::Waiting));
    }
    let at = now();
    // The deadline is set by the first claim and kept by later ones: maxRunTime bounds the
    // whole execution, retries included. SQLite adds the seconds to this claim's instant
    // (milliseconds kept), so the claim is one statement, as the hot path wants.
    let claimed: Option<ClaimRow> = sqlx::query_as(
        "UPDATE executions SET status = 'Running', attempt = attempt + 1, waiting_slot = 0, \
           lease_owner = $4, lease_expires_at = $5, date_running = COALESCE(date_running, $6), \
           deadline_at = COALESCE(deadline_at, \
             strftime('%Y-%m-%dT%H:%M:%f+00:00', $6, '+' || max_run_time || ' seconds')) \
         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 AND status = 'Queued' \
           AND not_before IS NULL \
         RETURNING attempt, action_id, action_name, trigger, input, max_run_time, deadline_at",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(execution_id)
    .bind(&worker)
    .bind(after(at, lease))
    .bind(at)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((attempt, action_id, action_name, trigger, input, max_run_time, deadline)) = claimed
    else {
        // Held until later, a duplicate or late delivery, or no such execution: the rare path.
        let status: Option<(String, bool)> = sqlx::query_as(
            "SELECT status, waiting_slot OR not_before IS NOT NULL FROM executions \
             WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(execution_id)
        .fetch_optional(&mut *conn)
        .await?;
        return Ok(Write::Discard(match status {
            Some((s, waiting)) => match decode::<ExecutionStatus>("status", &s)? {
                ExecutionStatus::Queued if waiting => ClaimOutcome::Waiting,
                status => ClaimOutcome::NotQueued(status),
            },
            None => ClaimOutcome::Unknown,
        }));
    };
    type StepColumns = (
        i32,
        StepId,
        String,
        String,
        String,
        Option<Value>,
        Option<String>,
        i32,
    );
    let rows: Vec<StepColumns> = sqlx::query_as(
        "SELECT step_number, step_id, step_type, settings, status, output, retry, retries \
         FROM execution_steps WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
         ORDER BY step_number",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(execution_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut steps = Vec::with_capacity(rows.len());
    for (step_number, step_id, step_type, settings, status, output, retry, retries) in rows {
        let done = decode::<StepRunStatus>("status", &status)? == StepRunStatus::Completed;
        steps.push(ClaimedStep {
            step_number,
            step_id,
            step_type: decode::<StepType>("step_type", &step_type)?,
            settings,
            completed_output: done.then(|| output.unwrap_or(Value::Null)),
            retry: rows::retry_policy(retry.as_deref())?,
            retries,
        });
    }
    if let Some(first) = steps.iter().find(|s| s.completed_output.is_none()) {
        sqlx::query(
            "UPDATE execution_steps SET status = 'Running', attempt = $5, date_started = $6, \
               date_ended = NULL, output = NULL, log = NULL, error = NULL \
             WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
               AND step_number = $4",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(execution_id)
        .bind(first.step_number)
        .bind(attempt)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(Write::Keep(ClaimOutcome::Claimed(ClaimedExecution {
        fence: Fence {
            scope,
            execution_id,
            attempt,
        },
        action_id,
        action_name,
        trigger: decode::<TriggerKind>("trigger", &trigger)?,
        input,
        max_run_time,
        remaining: (deadline - at).to_std().unwrap_or_default(),
        steps,
    })))
}

async fn finish_step(
    conn: &mut SqliteConnection,
    fence: Fence,
    step_number: i32,
    result: StepResult,
    next_step: i32,
) -> StoreResult<Write<bool>> {
    let at = now();
    let done = sqlx::query(
        "UPDATE execution_steps SET status = $6, date_ended = $7, output = $8, log = $9, \
           error = $10 \
         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
           AND step_number = $5 AND status = 'Running' AND attempt = $4 \
           AND EXISTS (SELECT 1 FROM executions e WHERE e.tenant_id = $1 \
             AND e.project_id = $2 AND e.execution_id = $3 AND e.attempt = $4 \
             AND e.status = 'Running')",
    )
    .bind(fence.scope.tenant_id)
    .bind(fence.scope.project_id)
    .bind(fence.execution_id)
    .bind(fence.attempt)
    .bind(step_number)
    .bind(result.status().as_str())
    .bind(at)
    .bind(&result.output)
    .bind(&result.log)
    .bind(&result.error)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        // A repeat of this very write (see the PostgreSQL migration
        // 20261208000002): recorded, as the first time.
        let repeat: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM execution_steps s \
               JOIN executions e ON e.tenant_id = s.tenant_id \
                 AND e.project_id = s.project_id AND e.execution_id = s.execution_id \
               JOIN execution_steps n ON n.tenant_id = s.tenant_id \
                 AND n.project_id = s.project_id AND n.execution_id = s.execution_id \
                 AND n.step_number = $6 \
               WHERE s.tenant_id = $1 AND s.project_id = $2 AND s.execution_id = $3 \
                 AND s.step_number = $5 AND s.attempt = $4 AND s.status = $7 \
                 AND s.date_ended IS NOT NULL AND e.attempt = $4 AND e.status = 'Running' \
                 AND n.attempt = $4 AND n.status = 'Running')",
        )
        .bind(fence.scope.tenant_id)
        .bind(fence.scope.project_id)
        .bind(fence.execution_id)
        .bind(fence.attempt)
        .bind(step_number)
        .bind(next_step)
        .bind(result.status().as_str())
        .fetch_one(&mut *conn)
        .await?;
        return Ok(Write::Discard(repeat));
    }
    sqlx::query(
        "UPDATE execution_steps SET status = 'Running', attempt = $4, date_started = $6, \
           date_ended = NULL, output = NULL, log = NULL, error = NULL \
         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
           AND step_number = $5 AND status <> 'Completed'",
    )
    .bind(fence.scope.tenant_id)
    .bind(fence.scope.project_id)
    .bind(fence.execution_id)
    .bind(fence.attempt)
    .bind(next_step)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(Write::Keep(true))
}

async fn finish_execution(
    conn: &mut SqliteConnection,
    fence: Fence,
    outcome: FinalOutcome,
    last_step: Option<FinalStep>,
) -> StoreResult<Write<bool>> {
    let (status, notes) = match &outcome {
        FinalOutcome::Completed => (ExecutionStatus::Completed, None),
        FinalOutcome::Failed { notes } => (ExecutionStatus::Failed, Some(notes.as_str())),
    };
    let at = now();
    let done = sqlx::query(
        "UPDATE executions SET status = $4, notes = $5, date_ended = $6, \
           lease_owner = NULL, lease_expires_at = NULL \
         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
           AND attempt = $7 AND status = 'Running'",
    )
    .bind(fence.scope.tenant_id)
    .bind(fence.scope.project_id)
    .bind(fence.execution_id)
    .bind(status.as_str())
    .bind(notes)
    .bind(at)
    .bind(fence.attempt)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(Write::Discard(false));
    }
    end_steps(
        conn,
        fence.scope,
        fence.execution_id,
        last_step
            .as_ref()
            .map(|s| (s.step_number, &s.result, fence.attempt)),
        notes.unwrap_or(outcome::STOPPED),
        at,
    )
    .await?;
    Ok(Write::Keep(true))
}

async fn requeue_running(conn: &mut SqliteConnection) -> StoreResult<Write<u64>> {
    let at = now();
    let running: Vec<(TenantId, ProjectId, ExecutionId)> = sqlx::query_as(
        "SELECT tenant_id, project_id, execution_id FROM executions \
         WHERE status = 'Running'",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (tenant_id, project_id, execution_id) in &running {
        let scope = Scope {
            tenant_id: *tenant_id,
            project_id: *project_id,
        };
        requeue(conn, scope, *execution_id, at).await?;
    }
    Ok(Write::Keep(running.len() as u64))
}

async fn reap(
    conn: &mut SqliteConnection,
    max_attempts: i32,
    limit: i64,
) -> StoreResult<Write<ReapReport>> {
    let at = now();
    let slack = chrono::Duration::from_std(DEADLINE_SLACK).unwrap_or_default();
    let expired: Vec<Expired> = sqlx::query_as(
        "SELECT tenant_id, project_id, execution_id, deadline_at, max_run_time, \
               attempt - retried \
             FROM executions \
             WHERE status = 'Running' AND (lease_expires_at < $2 OR deadline_at < $3) \
             ORDER BY lease_expires_at LIMIT $1",
    )
    .bind(limit)
    .bind(at)
    .bind(at - slack)
    .fetch_all(&mut *conn)
    .await?;
    let mut report = ReapReport::default();
    for (tenant_id, project_id, execution_id, deadline, max_run_time, lost) in expired {
        let scope = Scope {
            tenant_id,
            project_id,
        };
        let past_deadline = deadline.is_some_and(|d| d <= at);
        match outcome::reap(lost, max_attempts, past_deadline, max_run_time) {
            Reaped::Fail(notes) => {
                sqlx::query(
                    "UPDATE executions SET status = 'Failed', date_ended = $4, \
                       lease_owner = NULL, lease_expires_at = NULL, notes = $5 \
                     WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3",
                )
                .bind(tenant_id)
                .bind(project_id)
                .bind(execution_id)
                .bind(at)
                .bind(&notes)
                .execute(&mut *conn)
                .await?;
                end_steps(conn, scope, execution_id, None, &notes, at).await?;
                report.failed += 1;
            }
            Reaped::Requeue => {
                requeue(conn, scope, execution_id, at).await?;
                report.requeued += 1;
            }
        }
    }
    Ok(Write::Keep(report))
}

async fn requeue_stale(
    conn: &mut SqliteConnection,
    older_than: Duration,
    limit: i64,
) -> StoreResult<Write<u64>> {
    let at = now();
    let cutoff = at - chrono::Duration::from_std(older_than).unwrap_or_default();
    let stale: Vec<(TenantId, ProjectId, ExecutionId)> = sqlx::query_as(
        "UPDATE executions SET requeued_at = $1 \
         WHERE rowid IN (SELECT e.rowid FROM executions e \
           WHERE e.status = 'Queued' AND COALESCE(e.requeued_at, e.date_started) < $2 \
             AND e.not_before IS NULL AND NOT e.waiting_slot \
             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.execution_id = e.execution_id) \
           ORDER BY e.date_started LIMIT $3) \
         RETURNING tenant_id, project_id, execution_id",
    )
    .bind(at)
    .bind(cutoff)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    for (tenant_id, project_id, execution_id) in &stale {
        let scope = Scope {
            tenant_id: *tenant_id,
            project_id: *project_id,
        };
        super::outbox::enqueue(conn, scope, *execution_id, at).await?;
    }
    Ok(Write::Keep(stale.len() as u64))
}
