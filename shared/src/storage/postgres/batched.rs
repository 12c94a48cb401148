//! The worker's hot path as batched writes (see `batch.rs`): claims, step results and
//! finishes, each kind one call of a function from the `batched_work` migration with one array
//! per argument. Each item keeps the meaning of the one-row statement it replaces: claimed or
//! not, recorded or fenced out.

use super::batch::{BatchWrite, Batcher};
use super::decode;
use crate::domain::ids::{ActionId, ExecutionId, StepId};
use crate::domain::model::{ExecutionStatus, StepRunStatus, StepType, TriggerKind};
use crate::domain::policy::outcome;
use crate::storage::{
    ClaimedExecution, ClaimedStep, Fence, FinalOutcome, FinalStep, StepResult, StoreResult,
};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::FromRow;
use sqlx::postgres::PgPool;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// One batcher per kind of write, shared by every clone of a store (executes are the API's,
/// in `executions.rs`).
#[derive(Clone)]
pub(super) struct Batchers {
    pub(super) claims: Arc<Batcher<Claims>>,
    pub(super) step_results: Arc<Batcher<StepResults>>,
    pub(super) finishes: Arc<Batcher<Finishes>>,
    pub(super) executes: Arc<Batcher<super::executions::Executes>>,
}

impl Batchers {
    pub(super) fn new(pool: &PgPool) -> Self {
        Self {
            claims: Batcher::new(pool.clone()),
            step_results: Batcher::new(pool.clone()),
            finishes: Batcher::new(pool.clone()),
            executes: Batcher::new(pool.clone()),
        }
    }
}

impl fmt::Debug for Batchers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Batchers")
    }
}

/// A claim of one Queued execution by `worker`, for a lease of `lease`.
pub(super) struct ClaimItem {
    pub(super) scope: crate::domain::ids::Scope,
    pub(super) execution_id: ExecutionId,
    pub(super) worker: String,
    pub(super) lease: Duration,
}

pub(super) struct Claims;

/// One row per step of a claimed execution (one row with no step when it has none).
#[derive(FromRow)]
struct ClaimRow {
    execution_id: ExecutionId,
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

/// The claimed execution described by `rows` (all of one execution, steps in order).
fn claimed(item: &ClaimItem, mut rows: Vec<ClaimRow>) -> StoreResult<ClaimedExecution> {
    let mut steps = Vec::with_capacity(rows.len());
    for row in &mut rows {
        steps.extend(row.step()?);
    }
    let first = rows.swap_remove(0);
    Ok(ClaimedExecution {
        fence: Fence {
            scope: item.scope,
            execution_id: item.execution_id,
            attempt: first.attempt,
        },
        action_id: first.action_id,
        action_name: first.action_name,
        trigger: decode::<TriggerKind>("trigger", &first.trigger)?,
        input: first.input,
        max_run_time: first.max_run_time,
        remaining: Duration::from_secs_f64(first.remaining_seconds.max(0.0)),
        steps,
    })
}

#[async_trait]
impl BatchWrite for Claims {
    type Item = ClaimItem;
    /// `None`: not claimed (not Queued, or no such execution).
    type Answer = Option<ClaimedExecution>;
    const KIND: &'static str = "claim";

    async fn write(pool: &PgPool, items: &[ClaimItem]) -> StoreResult<Vec<Self::Answer>> {
        let rows: Vec<ClaimRow> =
            sqlx::query_as("SELECT * FROM actuate_claim_executions($1, $2, $3, $4, $5)")
                .bind(
                    items
                        .iter()
                        .map(|i| i.scope.tenant_id.0)
                        .collect::<Vec<_>>(),
                )
                .bind(
                    items
                        .iter()
                        .map(|i| i.scope.project_id.0)
                        .collect::<Vec<_>>(),
                )
                .bind(items.iter().map(|i| i.execution_id.0).collect::<Vec<_>>())
                .bind(items.iter().map(|i| i.worker.as_str()).collect::<Vec<_>>())
                .bind(
                    items
                        .iter()
                        .map(|i| super::secs(i.lease))
                        .collect::<Vec<_>>(),
                )
                .fetch_all(pool)
                .await?;
        let mut by_execution: HashMap<ExecutionId, Vec<ClaimRow>> = HashMap::new();
        for row in rows {
            by_execution.entry(row.execution_id).or_default().push(row);
        }
        // An execution named twice in one batch was claimed once: by the first item naming it.
        items
            .iter()
            .map(|item| {
                by_execution
                    .remove(&item.execution_id)
                    .map(|rows| claimed(item, rows))
                    .transpose()
            })
            .collect()
    }
}

/// A step's result, and the step to start after it.
pub(super) struct StepItem {
    pub(super) fence: Fence,
    pub(super) step_number: i32,
    pub(super) result: StepResult,
    pub(super) next_step: i32,
}

pub(super) struct StepResults;

#[async_trait]
impl BatchWrite for StepResults {
    type Item = StepItem;
    /// Recorded (`false`: fenced out).
    type Answer = bool;
    const KIND: &'static str = "step_result";

    async fn write(pool: &PgPool, items: &[StepItem]) -> StoreResult<Vec<bool>> {
        let fences: Vec<Fence> = items.iter().map(|i| i.fence).collect();
        let results: Vec<&StepResult> = items.iter().map(|i| &i.result).collect();
        let (recorded,): (Vec<bool>,) =
            sqlx::query_as("SELECT actuate_finish_steps($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                .bind(tenants(&fences))
                .bind(projects(&fences))
                .bind(executions(&fences))
                .bind(attempts(&fences))
                .bind(items.iter().map(|i| i.step_number).collect::<Vec<_>>())
                .bind(
                    results
                        .iter()
                        .map(|r| r.status().as_str())
                        .collect::<Vec<_>>(),
                )
                .bind(results.iter().map(|r| r.output.clone()).collect::<Vec<_>>())
                .bind(results.iter().map(|r| r.log.as_deref()).collect::<Vec<_>>())
                .bind(
                    results
                        .iter()
                        .map(|r| r.error.as_deref())
                        .collect::<Vec<_>>(),
                )
                .bind(items.iter().map(|i| i.next_step).collect::<Vec<_>>())
                .fetch_one(pool)
                .await?;
        Ok(recorded)
    }
}

/// The end of an execution, with the result of the step that ended it.
pub(super) struct FinishItem {
    pub(super) fence: Fence,
    pub(super) outcome: FinalOutcome,
    pub(super) last_step: Option<FinalStep>,
}

pub(super) struct Finishes;

#[async_trait]
impl BatchWrite for Finishes {
    type Item = FinishItem;
    /// Ended (`false`: fenced out).
    type Answer = bool;
    const KIND: &'static str = "finish";

    async fn write(pool: &PgPool, items: &[FinishItem]) -> StoreResult<Vec<bool>> {
        let fences: Vec<Fence> = items.iter().map(|i| i.fence).collect();
        let (statuses, notes): (Vec<&str>, Vec<Option<&str>>) = items
            .iter()
            .map(|i| match &i.outcome {
                FinalOutcome::Completed => (ExecutionStatus::Completed.as_str(), None),
                FinalOutcome::Failed { notes } => {
                    (ExecutionStatus::Failed.as_str(), Some(notes.as_str()))
                }
            })
            .unzip();
        let last: Vec<Option<&FinalStep>> = items.iter().map(|i| i.last_step.as_ref()).collect();
        let results: Vec<Option<&StepResult>> = last.iter().map(|s| s.map(|s| &s.result)).collect();
        let (ended,): (Vec<bool>,) = sqlx::query_as(
            "SELECT actuate_finish_executions($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(tenants(&fences))
        .bind(projects(&fences))
        .bind(executions(&fences))
        .bind(attempts(&fences))
        .bind(&statuses)
        .bind(&notes)
        .bind(
            last.iter()
                .map(|s| s.map(|s| s.step_number))
                .collect::<Vec<_>>(),
        )
        .bind(
            results
                .iter()
                .map(|r| r.map(|r| r.status().as_str()))
                .collect::<Vec<_>>(),
        )
        .bind(
            results
                .iter()
                .map(|r| r.and_then(|r| r.output.clone()))
                .collect::<Vec<_>>(),
        )
        .bind(
            results
                .iter()
                .map(|r| r.and_then(|r| r.log.as_deref()))
                .collect::<Vec<_>>(),
        )
        .bind(
            results
                .iter()
                .map(|r| r.and_then(|r| r.error.as_deref()))
                .collect::<Vec<_>>(),
        )
        .bind(
            notes
                .iter()
                .map(|n| n.unwrap_or(outcome::STOPPED))
                .collect::<Vec<_>>(),
        )
        .fetch_one(pool)
        .await?;
        Ok(ended)
    }
}

fn tenants(fences: &[Fence]) -> Vec<Uuid> {
    fences.iter().map(|f| f.scope.tenant_id.0).collect()
}

fn projects(fences: &[Fence]) -> Vec<Uuid> {
    fences.iter().map(|f| f.scope.project_id.0).collect()
}

fn executions(fences: &[Fence]) -> Vec<Uuid> {
    fences.iter().map(|f| f.execution_id.0).collect()
}

fn attempts(fences: &[Fence]) -> Vec<i32> {
    fences.iter().map(|f| f.attempt).collect()
}
