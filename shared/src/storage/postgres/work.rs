//! The worker's side: claiming an execution, heartbeats, step results, the end of an
//! execution, releasing it, and reaping executions whose worker was lost. Every write after the
//! claim is fenced: it matches only while the execution is Running under the same attempt.
//!
//! The hot path is one statement, and one commit, per call: the claim (which also starts the
//! first step), each step's result (which also starts the next step), and the finish (which
//! also records the last step's result). Statuses in those statements are bound, not literal:
//! the store's connections use generic plans, in which a bound status cannot select a partial
//! index such as "Queued executions". A literal could, and without statistics the planner was
//! seen scanning that whole index on every claim instead of using the primary key.

use super::{PgStore, decode, secs};
use crate::domain::ids::{ActionId, ExecutionId, Scope, StepId};
use crate::domain::model::{ExecutionStatus, StepRunStatus, StepType, TriggerKind};
use crate::domain::policy::outcome::{self, Reaped};
use crate::storage::{
    ClaimOutcome, ClaimedExecution, ClaimedStep, Fence, FinalOutcome, FinalStep, ReapReport,
    StepResult, StoreResult, WorkStore,
};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::PgConnection;
use sqlx::{FromRow, Postgres, Transaction};
use std::time::Duration;

const RUNNING: &str = ExecutionStatus::Running.as_str();
const QUEUED: &str = ExecutionStatus::Queued.as_str();
const STEP_RUNNING: &str = StepRunStatus::Running.as_str();

/// One row per step of the claimed execution (one row with no step when it has none).
#[derive(FromRow)]
struct ClaimRow {
    attempt: i32,
    action_id: ActionId,
    action_name: String,
    trigger: String,
    input: Option<Value>,
    max_run_time: i32,
    remaining_seconds: f64,
    step_number: Option<i32>,
    step_id: Option<StepId>,
    step_type: Option<String>,
    settings: Option<String>,
    step_status: Option<String>,
    output: Option<Value>,
}

impl ClaimRow {
    fn step(&mut self) -> StoreResult<Option<ClaimedStep>> {
        let (Some(step_number), Some(step_id), Some(step_type), Some(settings), Some(status)) = (
            self.step_number,
            self.step_id,
            self.step_type.take(),
            self.settings.take(),
            self.step_status.take(),
        ) else {
            return Ok(None);
        };
        let done = decode::<StepRunStatus>("status", &status)? == StepRunStatus::Completed;
        Ok(Some(ClaimedStep {
            step_number,
            step_id,
            step_type: decode::<StepType>("step_type", &step_type)?,
            settings,
            completed_output: done.then(|| self.output.take().unwrap_or(Value::Null)),
        }))
    }
}

/// The update that ends an execution's unfinished steps: the running one fails with the reason
/// (the parameter named), those not reached are skipped. sqlx takes only static SQL, so the
/// statements that share it splice it in with `concat!`.
macro_rules! close_steps_sql {
    ($reason:literal) => {
        concat!(
            "UPDATE execution_steps SET \
               status = CASE status WHEN 'Running' THEN 'Failed' ELSE 'Skipped' END, \
               error = CASE status WHEN 'Running' THEN ",
            $reason,
            " ELSE error END, \
               date_ended = CASE status WHEN 'Running' THEN now() ELSE date_ended END \
             WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
               AND status IN ('Running', 'Pending')"
        )
    };
}

/// Ends the steps of an execution that was stopped from outside (cancel, deadline, lost
/// worker): the running one fails with `reason`, those not reached are skipped.
pub(super) async fn close_steps(
    conn: &mut PgConnection,
    scope: Scope,
    execution_id: ExecutionId,
    reason: &str,
) -> StoreResult<()> {
    sqlx::query(close_steps_sql!("$4"))
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
        // whole execution, retries included. Time is the database's, not the worker's. The
        // same statement starts the first step not completed yet and returns the snapshot
        // (statuses as they were before it).
        let mut rows: Vec<ClaimRow> = sqlx::query_as(
            "WITH claimed AS ( \
               UPDATE executions SET status = $6, attempt = attempt + 1, \
                 lease_owner = $4, lease_expires_at = now() + make_interval(secs => $5), \
                 date_running = COALESCE(date_running, now()), \
                 deadline_at = COALESCE(deadline_at, now() + make_interval(secs => max_run_time)) \
               WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 AND status = $7 \
               RETURNING tenant_id, project_id, execution_id, attempt, action_id, action_name, \
                 trigger, input, max_run_time, \
                 GREATEST(EXTRACT(EPOCH FROM deadline_at - now()), 0)::float8 AS remaining_seconds), \
             started AS ( \
               UPDATE execution_steps SET status = $8, attempt = (SELECT attempt FROM claimed), \
                 date_started = now(), date_ended = NULL, output = NULL, log = NULL, error = NULL \
               WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
                 AND EXISTS (SELECT 1 FROM claimed) \
                 AND step_number = (SELECT min(step_number) FROM execution_steps \
                   WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
                     AND status <> 'Completed')) \
             SELECT c.attempt, c.action_id, c.action_name, c.trigger, c.input, c.max_run_time, \
               c.remaining_seconds, s.step_number, s.step_id, s.step_type, s.settings, \
               s.status AS step_status, s.output \
             FROM claimed c LEFT JOIN execution_steps s ON s.tenant_id = $1 \
               AND s.project_id = $2 AND s.execution_id = $3 \
             ORDER BY s.step_number",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(execution_id)
        .bind(worker)
        .bind(secs(lease))
        .bind(RUNNING)
        .bind(QUEUED)
        .bind(STEP_RUNNING)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            let status: Option<(String,)> = sqlx::query_as(
                "SELECT status FROM executions \
                 WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3",
            )
            .bind(scope.tenant_id)
            .bind(scope.project_id)
            .bind(execution_id)
            .fetch_optional(&self.pool)
            .await?;
            return Ok(match status {
                Some((s,)) => ClaimOutcome::NotQueued(decode::<ExecutionStatus>("status", &s)?),
                None => ClaimOutcome::Unknown,
            });
        }
        let mut steps = Vec::with_capacity(rows.len());
        for row in &mut rows {
            steps.extend(row.step()?);
        }
        let first = rows.swap_remove(0);
        Ok(ClaimOutcome::Claimed(ClaimedExecution {
            fence: Fence {
                scope,
                execution_id,
                attempt: first.attempt,
            },
            action_id: first.action_id,
            action_name: first.action_name,
            trigger: decode::<TriggerKind>("trigger", &first.trigger)?,
            input: first.input,
            max_run_time: first.max_run_time,
            remaining: Duration::from_secs_f64(first.remaining_seconds.max(0.0)),
            steps,
        }))
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
        let (finished,): (i64,) = sqlx::query_as(
            "WITH done AS ( \
               UPDATE execution_steps s SET status = $6, date_ended = now(), output = $7, \
                 log = $8, error = $9 \
               FROM executions e \
               WHERE s.tenant_id = $1 AND s.project_id = $2 AND s.execution_id = $3 \
                 AND s.step_number = $5 AND s.status = $11 AND s.attempt = $4 \
                 AND e.tenant_id = s.tenant_id AND e.project_id = s.project_id \
                 AND e.execution_id = s.execution_id AND e.attempt = $4 AND e.status = $10 \
               RETURNING s.step_number), \
             next AS ( \
               UPDATE execution_steps SET status = $11, attempt = $4, date_started = now(), \
                 date_ended = NULL, output = NULL, log = NULL, error = NULL \
               WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
                 AND step_number = $12 AND status <> 'Completed' \
                 AND EXISTS (SELECT 1 FROM done)) \
             SELECT count(*) FROM done",
        )
        .bind(fence.scope.tenant_id)
        .bind(fence.scope.project_id)
        .bind(fence.execution_id)
        .bind(fence.attempt)
        .bind(step_number)
        .bind(result.status().as_str())
        .bind(&result.output)
        .bind(&result.log)
        .bind(&result.error)
        .bind(RUNNING)
        .bind(STEP_RUNNING)
        .bind(next_step)
        .fetch_one(&self.pool)
        .await?;
        Ok(finished == 1)
    }

    async fn finish_execution(
        &self,
        fence: Fence,
        outcome: FinalOutcome,
        last_step: Option<FinalStep>,
    ) -> StoreResult<bool> {
        let (status, notes) = match &outcome {
            FinalOutcome::Completed => (ExecutionStatus::Completed, None),
            FinalOutcome::Failed { notes } => (ExecutionStatus::Failed, Some(notes.as_str())),
        };
        let (step_number, result) = match &last_step {
            Some(s) => (Some(s.step_number), Some(&s.result)),
            None => (None, None),
        };
        // One statement: the fenced update of the execution locks its row (so a cancel waits
        // or is waited for), and the step updates apply only if it matched.
        let (finished,): (i64,) = sqlx::query_as(concat!(
            "WITH e AS ( \
               UPDATE executions SET status = $4, notes = $5, date_ended = now(), \
                 lease_owner = NULL, lease_expires_at = NULL \
               WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
                 AND attempt = $6 AND status = $7 \
               RETURNING execution_id), \
             last AS ( \
               UPDATE execution_steps SET status = $9, date_ended = now(), output = $10, \
                 log = $11, error = $12 \
               WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
                 AND step_number = $8 AND status = $13 AND attempt = $6 \
                 AND EXISTS (SELECT 1 FROM e)), \
             rest AS (",
            close_steps_sql!("$14"),
            " \
                 AND step_number IS DISTINCT FROM $8 AND EXISTS (SELECT 1 FROM e)) \
             SELECT count(*) FROM e"
        ))
        .bind(fence.scope.tenant_id)
        .bind(fence.scope.project_id)
        .bind(fence.execution_id)
        .bind(status.as_str())
        .bind(notes)
        .bind(fence.attempt)
        .bind(RUNNING)
        .bind(step_number)
        .bind(result.map(|r| r.status().as_str()))
        .bind(result.and_then(|r| r.output.as_ref()))
        .bind(result.and_then(|r| r.log.as_deref()))
        .bind(result.and_then(|r| r.error.as_deref()))
        .bind(STEP_RUNNING)
        .bind(notes.unwrap_or(outcome::STOPPED))
        .fetch_one(&self.pool)
        .await?;
        Ok(finished == 1)
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
        let expired: Vec<(uuid::Uuid, uuid::Uuid, ExecutionId, i32, bool, i32)> = sqlx::query_as(
            "SELECT tenant_id, project_id, execution_id, attempt, deadline_at <= now(), \
               max_run_time \
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
        for (tenant_id, project_id, execution_id, attempt, past_deadline, max_run_time) in expired {
            let scope = Scope {
                tenant_id: tenant_id.into(),
                project_id: project_id.into(),
            };
            match outcome::reap(attempt, max_attempts, past_deadline, max_run_time) {
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
        let done = sqlx::query(
            "WITH stale AS ( \
               SELECT tenant_id, project_id, execution_id FROM executions e \
               WHERE status = 'Queued' \
                 AND COALESCE(requeued_at, date_started) < now() - make_interval(secs => $1) \
                 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.execution_id = e.execution_id) \
               ORDER BY date_started LIMIT $2 FOR UPDATE SKIP LOCKED), \
             marked AS ( \
               UPDATE executions e SET requeued_at = now() FROM stale s \
               WHERE e.tenant_id = s.tenant_id AND e.project_id = s.project_id \
                 AND e.execution_id = s.execution_id) \
             INSERT INTO outbox (tenant_id, project_id, execution_id, next_step_type) \
             SELECT tenant_id, project_id, execution_id, (SELECT step_type FROM execution_steps st \
               WHERE st.tenant_id = s.tenant_id AND st.project_id = s.project_id \
                 AND st.execution_id = s.execution_id AND st.status <> 'Completed' \
               ORDER BY step_number LIMIT 1) FROM stale s",
        )
        .bind(secs(older_than))
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
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
