//! The worker's hot path as batched writes (see `batch.rs`): claims, step results and
//! finishes. They share one batcher, so whatever of the three kinds is ready goes in one
//! statement and one commit: when a step ends, its execution's finish and the claim of the next
//! execution for the freed runner are usually ready together. The statement calls one function
//! per kind from the `batched_work` migration, each with one array per argument (empty when the
//! batch holds none of that kind). Each item keeps the meaning of the one-row statement it
//! replaces: claimed or not, recorded or fenced out.

use super::batch::{BatchWrite, Batcher};
use super::decode;
use crate::domain::ids::{ActionId, ExecutionId, Scope, StepId};
use crate::domain::model::{ExecutionStatus, StepRunStatus, StepType, TriggerKind};
use crate::domain::policy::outcome;
use crate::storage::rows;
use crate::storage::{
    ClaimedExecution, ClaimedStep, Fence, FinalOutcome, FinalStep, StepResult, StoreError,
    StoreResult,
};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::FromRow;
use sqlx::postgres::PgPool;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The batchers of a store, shared by all its clones: the worker's work, and executes (the
/// API's, in `executions.rs`).
#[derive(Clone)]
pub(super) struct Batchers {
    pub(super) work: Arc<Batcher<Work>>,
    pub(super) executes: Arc<Batcher<super::executions::Executes>>,
    pub(super) audit: Arc<Batcher<super::audit::Appends>>,
}

impl Batchers {
    pub(super) fn new(pool: &PgPool) -> Self {
        Self {
            work: Batcher::new(pool.clone()),
            executes: Batcher::new(pool.clone()),
            audit: Batcher::new(pool.clone()),
        }
    }
}

impl fmt::Debug for Batchers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Batchers")
    }
}

/// One write of a worker's.
pub(super) enum WorkItem {
    Claim(ClaimItem),
    StepResult(StepItem),
    Finish(FinishItem),
}

/// What a [`WorkItem`] answers: a claim the execution claimed (`None`: not Queued, or no such
/// execution); a step result or a finish whether it landed (`false`: fenced out).
pub(super) enum WorkAnswer {
    Claimed(Option<ClaimedExecution>),
    Landed(bool),
}

impl WorkAnswer {
    pub(super) fn claimed(self) -> StoreResult<Option<ClaimedExecution>> {
        match self {
            WorkAnswer::Claimed(claimed) => Ok(claimed),
            WorkAnswer::Landed(_) => Err(mismatch()),
        }
    }

    pub(super) fn landed(self) -> StoreResult<bool> {
        match self {
            WorkAnswer::Landed(landed) => Ok(landed),
            WorkAnswer::Claimed(_) => Err(mismatch()),
        }
    }
}

fn mismatch() -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(
        "a batched write answered another kind of item".into(),
    ))
}

/// A claim of one Queued execution by `worker`, for a lease of `lease`.
pub(super) struct ClaimItem {
    pub(super) scope: Scope,
    pub(super) execution_id: ExecutionId,
    pub(super) worker: String,
    pub(super) lease: Duration,
}

/// One row per step of a claimed execution (one row with no step when it has none). Every
/// column is nullable here because the rows share their shape with those answering the other
/// kinds (see [`WORK`]); a claim's own columns are never NULL.
#[derive(FromRow)]
struct WorkRow {
    /// 1: a claimed execution's step; 2: step results recorded; 3: executions ended.
    part: i32,
    landed: Option<Vec<bool>>,
    execution_id: Option<ExecutionId>,
    attempt: Option<i32>,
    action_id: Option<ActionId>,
    action_name: Option<String>,
    trigger: Option<String>,
    input: Option<Value>,
    max_run_time: Option<i32>,
    remaining_seconds: Option<f64>,
    step_number: Option<i32>,
    step_id: Option<StepId>,
    step_type: Option<String>,
    settings: Option<String>,
    step_status: Option<String>,
    output: Option<Value>,
    step_retry: Option<String>,
    step_retries: Option<i32>,
}

impl WorkRow {
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
            retry: rows::retry_policy(self.step_retry.as_deref())?,
            retries: self.step_retries.unwrap_or(0),
        }))
    }
}

/// A claim's column, which the claim function never leaves NULL.
fn required<T>(column: &str, value: Option<T>) -> StoreResult<T> {
    value.ok_or_else(|| {
        StoreError::Database(sqlx::Error::Protocol(format!("claim row without {column}")))
    })
}

/// The claimed execution described by `rows` (all of one execution).
fn claimed(item: &ClaimItem, mut rows: Vec<WorkRow>) -> StoreResult<ClaimedExecution> {
    rows.sort_by_key(|row| row.step_number);
    let mut steps = Vec::with_capacity(rows.len());
    for row in &mut rows {
        steps.extend(row.step()?);
    }
    let first = rows.swap_remove(0);
    Ok(ClaimedExecution {
        fence: Fence {
            scope: item.scope,
            execution_id: item.execution_id,
            attempt: required("attempt", first.attempt)?,
        },
        action_id: required("action_id", first.action_id)?,
        action_name: required("action_name", first.action_name)?,
        trigger: decode::<TriggerKind>("trigger", &required("trigger", first.trigger)?)?,
        input: first.input,
        max_run_time: required("max_run_time", first.max_run_time)?,
        remaining: Duration::from_secs_f64(
            required("remaining_seconds", first.remaining_seconds)?.max(0.0),
        ),
        steps,
    })
}

/// A step's result, and the step to start after it.
pub(super) struct StepItem {
    pub(super) fence: Fence,
    pub(super) step_number: i32,
    pub(super) result: StepResult,
    pub(super) next_step: i32,
}

/// The end of an execution, with the result of the step that ended it.
pub(super) struct FinishItem {
    pub(super) fence: Fence,
    pub(super) outcome: FinalOutcome,
    pub(super) last_step: Option<FinalStep>,
}

/// The statement that writes a batch of work: the claims' rows, then one row with whether each
/// step result landed, then one with whether each finish did. One statement, one commit.
const WORK: &str = "\
    SELECT 1 AS part, NULL::boolean[] AS landed, c.execution_id, c.attempt, c.action_id, \
      c.action_name, c.trigger, c.input, c.max_run_time, c.remaining_seconds, c.step_number, \
      c.step_id, c.step_type, c.settings, c.step_status, c.output, c.step_retry, \
      c.step_retries \
    FROM actuate_claim_executions($1, $2, $3, $4, $5) c \
    UNION ALL \
    SELECT 2, actuate_finish_steps($6, $7, $8, $9, $10, $11, $12, $13, $14, $15), \
      NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
      NULL, NULL \
    UNION ALL \
    SELECT 3, actuate_finish_executions($16, $17, $18, $19, $20, $21, $22, $23, $24, $25, \
        $26, $27), \
      NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
      NULL, NULL";

pub(super) struct Work;

#[async_trait]
impl BatchWrite for Work {
    type Item = WorkItem;
    type Answer = WorkAnswer;
    const KIND: &'static str = "work";

    async fn write(pool: &PgPool, items: &[WorkItem]) -> StoreResult<Vec<WorkAnswer>> {
        let (mut claims, mut steps, mut finishes) = (Vec::new(), Vec::new(), Vec::new());
        for item in items {
            match item {
                WorkItem::Claim(c) => claims.push(c),
                WorkItem::StepResult(s) => steps.push(s),
                WorkItem::Finish(f) => finishes.push(f),
            }
        }
        let step_fences = FenceColumns::of(steps.iter().map(|i| i.fence));
        let step_results = ResultColumns::of(steps.iter().map(|i| Some(&i.result)));
        let finish_fences = FenceColumns::of(finishes.iter().map(|i| i.fence));
        let (statuses, notes): (Vec<&str>, Vec<Option<&str>>) = finishes
            .iter()
            .map(|i| match &i.outcome {
                FinalOutcome::Completed => (ExecutionStatus::Completed.as_str(), None),
                FinalOutcome::Failed { notes } => {
                    (ExecutionStatus::Failed.as_str(), Some(notes.as_str()))
                }
            })
            .unzip();
        let last: Vec<Option<&FinalStep>> = finishes.iter().map(|i| i.last_step.as_ref()).collect();
        let last_results = ResultColumns::of(last.iter().map(|s| s.map(|s| &s.result)));
        let rows: Vec<WorkRow> = sqlx::query_as(WORK)
            // Claims.
            .bind(
                claims
                    .iter()
                    .map(|i| i.scope.tenant_id.0)
                    .collect::<Vec<_>>(),
            )
            .bind(
                claims
                    .iter()
                    .map(|i| i.scope.project_id.0)
                    .collect::<Vec<_>>(),
            )
            .bind(claims.iter().map(|i| i.execution_id.0).collect::<Vec<_>>())
            .bind(claims.iter().map(|i| i.worker.as_str()).collect::<Vec<_>>())
            .bind(
                claims
                    .iter()
                    .map(|i| super::secs(i.lease))
                    .collect::<Vec<_>>(),
            )
            // Step results.
            .bind(step_fences.tenants)
            .bind(step_fences.projects)
            .bind(step_fences.executions)
            .bind(step_fences.attempts)
            .bind(steps.iter().map(|i| i.step_number).collect::<Vec<_>>())
            .bind(step_results.statuses)
            .bind(step_results.outputs)
            .bind(step_results.logs)
            .bind(step_results.errors)
            .bind(steps.iter().map(|i| i.next_step).collect::<Vec<_>>())
            // Finishes.
            .bind(finish_fences.tenants)
            .bind(finish_fences.projects)
            .bind(finish_fences.executions)
            .bind(finish_fences.attempts)
            .bind(&statuses)
            .bind(&notes)
            .bind(
                last.iter()
                    .map(|s| s.map(|s| s.step_number))
                    .collect::<Vec<_>>(),
            )
            .bind(last_results.statuses)
            .bind(last_results.outputs)
            .bind(last_results.logs)
            .bind(last_results.errors)
            .bind(
                notes
                    .iter()
                    .map(|n| n.unwrap_or(outcome::STOPPED))
                    .collect::<Vec<_>>(),
            )
            .fetch_all(pool)
            .await?;

        let mut claimed_rows: HashMap<ExecutionId, Vec<WorkRow>> = HashMap::new();
        let (mut steps_landed, mut finishes_landed) = (Vec::new(), Vec::new());
        for row in rows {
            match row.part {
                1 => claimed_rows
                    .entry(required("execution_id", row.execution_id)?)
                    .or_default()
                    .push(row),
                2 => steps_landed = row.landed.unwrap_or_default(),
                _ => finishes_landed = row.landed.unwrap_or_default(),
            }
        }
        if steps_landed.len() != steps.len() || finishes_landed.len() != finishes.len() {
            return Err(mismatch());
        }
        let (mut steps_landed, mut finishes_landed) =
            (steps_landed.into_iter(), finishes_landed.into_iter());
        items
            .iter()
            .map(|item| match item {
                // An execution named twice in one batch was claimed once: by the first item
                // naming it.
                WorkItem::Claim(claim) => claimed_rows
                    .remove(&claim.execution_id)
                    .map(|rows| claimed(claim, rows))
                    .transpose()
                    .map(WorkAnswer::Claimed),
                WorkItem::StepResult(_) => steps_landed
                    .next()
                    .map(WorkAnswer::Landed)
                    .ok_or_else(mismatch),
                WorkItem::Finish(_) => finishes_landed
                    .next()
                    .map(WorkAnswer::Landed)
                    .ok_or_else(mismatch),
            })
            .collect()
    }
}

/// The fences of a batch's items of one kind, one array per column.
struct FenceColumns {
    tenants: Vec<uuid::Uuid>,
    projects: Vec<uuid::Uuid>,
    executions: Vec<uuid::Uuid>,
    attempts: Vec<i32>,
}

impl FenceColumns {
    fn of(fences: impl Iterator<Item = Fence>) -> Self {
        let mut columns = Self {
            tenants: Vec::new(),
            projects: Vec::new(),
            executions: Vec::new(),
            attempts: Vec::new(),
        };
        for fence in fences {
            columns.tenants.push(fence.scope.tenant_id.0);
            columns.projects.push(fence.scope.project_id.0);
            columns.executions.push(fence.execution_id.0);
            columns.attempts.push(fence.attempt);
        }
        columns
    }
}

/// Step results, one array per column; NULL in every column for an item without one (a
/// finish with no step to record).
struct ResultColumns<'a> {
    statuses: Vec<Option<&'static str>>,
    outputs: Vec<Option<Value>>,
    logs: Vec<Option<&'a str>>,
    errors: Vec<Option<&'a str>>,
}

impl<'a> ResultColumns<'a> {
    fn of(results: impl Iterator<Item = Option<&'a StepResult>>) -> Self {
        let mut columns = Self {
            statuses: Vec::new(),
            outputs: Vec::new(),
            logs: Vec::new(),
            errors: Vec::new(),
        };
        for result in results {
            columns.statuses.push(result.map(|r| r.status().as_str()));
            columns.outputs.push(result.and_then(|r| r.output.clone()));
            columns.logs.push(result.and_then(|r| r.log.as_deref()));
            columns.errors.push(result.and_then(|r| r.error.as_deref()));
        }
        columns
    }
}
