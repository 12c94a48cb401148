//! Values passed to and returned by the storage interface.

use crate::domain::audit::ExecutionAudit;
use crate::domain::ids::{ActionId, ExecutionId, Scope, StepId};
use crate::domain::model::{
    Action, Execution, ExecutionStatus, StepRunStatus, StepType, TriggerKind,
};
use crate::domain::paging::{Cursor, DEFAULT_PAGE_SIZE};
use crate::domain::retry::RetryPolicy;
use crate::message::ExecuteMessage;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::Duration;

/// What an execute request asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct NewExecution {
    pub trigger: TriggerKind,
    pub input: Option<Value>,
    /// A repeated key for the same action within [`IDEMPOTENCY_WINDOW_HOURS`] returns the
    /// first execution.
    pub idempotency_key: Option<String>,
    /// Start no earlier than this: the execution waits in the store, Queued and unpublished,
    /// until [`WorkStore::release_due`](super::WorkStore::release_due) releases it. `None`:
    /// publish at once.
    pub run_at: Option<DateTime<Utc>>,
    /// The execution this one re-runs.
    pub rerun_of: Option<ExecutionId>,
    /// The W3C `traceparent` of the span that asked for it (see `telemetry`): the worker's
    /// spans for this execution join that trace. `None` when spans are not exported.
    pub trace_parent: Option<String>,
    /// The audit entry of this creation, written with the execution (see [`ExecutionAudit`]);
    /// `None` for executions nobody asked for by a request (schedules, tests).
    pub audit: Option<ExecutionAudit>,
}

impl NewExecution {
    /// An execution to start at once, with no idempotency key, in the trace of the current
    /// span.
    pub fn new(trigger: TriggerKind, input: Option<Value>) -> Self {
        Self {
            trigger,
            input,
            idempotency_key: None,
            run_at: None,
            rerun_of: None,
            trace_parent: crate::telemetry::trace_parent(&tracing::Span::current()),
            audit: None,
        }
    }
}

pub const IDEMPOTENCY_WINDOW_HOURS: i32 = 24;

#[derive(Clone, Debug, PartialEq)]
pub enum ExecuteOutcome {
    Created(Execution),
    /// The idempotency key was seen before: the execution it created.
    Existing(Execution),
    ActionNotFound,
    ActionDisabled,
}

impl ExecuteOutcome {
    /// An execute that wrote nothing because the action was missing or disabled, told apart by
    /// whether it exists. An action that exists was disabled, or (rarely) re-enabled between
    /// the two reads: it is reported as disabled rather than retried; the caller may execute
    /// again.
    pub fn not_written(action_exists: bool) -> Self {
        if action_exists {
            ExecuteOutcome::ActionDisabled
        } else {
            ExecuteOutcome::ActionNotFound
        }
    }
}

/// Which executions a list reads, newest first (by `dateStarted`, then id). Every condition
/// left `None` matches all.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExecutionFilter {
    /// One action's executions, or the whole project's.
    pub action_id: Option<ActionId>,
    pub status: Option<ExecutionStatus>,
    pub trigger: Option<TriggerKind>,
    /// Queued at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Queued before this time.
    pub until: Option<DateTime<Utc>>,
    /// Strictly older than this position (the previous page's last item).
    pub after: Option<Cursor<ExecutionId>>,
    pub offset: i64,
    pub limit: i64,
}

impl Default for ExecutionFilter {
    fn default() -> Self {
        Self {
            action_id: None,
            status: None,
            trigger: None,
            since: None,
            until: None,
            after: None,
            offset: 0,
            limit: DEFAULT_PAGE_SIZE,
        }
    }
}

impl ExecutionFilter {
    /// The newest execution of an action.
    pub fn newest_of(action_id: ActionId) -> Self {
        Self {
            action_id: Some(action_id),
            limit: 1,
            ..Self::default()
        }
    }

    /// The cursor that continues a list after `execution`.
    pub fn cursor_of(execution: &Execution) -> Cursor<ExecutionId> {
        Cursor {
            at: execution.date_started,
            id: execution.action_execution_id,
        }
    }
}

/// A page of actions, oldest first (by `dateCreated`, then id).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActionPage {
    /// Strictly after this position (the previous page's last item).
    pub after: Option<Cursor<ActionId>>,
    pub limit: i64,
}

impl ActionPage {
    /// Every action, in one page.
    pub const ALL: ActionPage = ActionPage {
        after: None,
        limit: i64::MAX,
    };

    /// The cursor that continues a list after `action`.
    pub fn cursor_of(action: &Action) -> Cursor<ActionId> {
        Cursor {
            at: action.date_created,
            id: action.action_id,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum CancelOutcome {
    Cancelled(Execution),
    AlreadyFinished(Execution),
    NotFound,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ClaimOutcome {
    Claimed(ClaimedExecution),
    /// The execution exists but is not Queued: a duplicate or late delivery.
    NotQueued(ExecutionStatus),
    /// Queued, but not to be run now: its group of a concurrency limit has no free slot (it
    /// waits for one, released by `release_due`), or it is held until a later time. Its
    /// message is done with; the store publishes it again when its turn comes.
    Waiting,
    /// No such execution: a message that cannot be processed.
    Unknown,
}

/// Everything a worker needs to run an execution it claimed.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimedExecution {
    pub fence: Fence,
    pub action_id: ActionId,
    pub action_name: String,
    pub trigger: TriggerKind,
    pub input: Option<Value>,
    pub max_run_time: i32,
    /// Time left before maxRunTime, by the database's clock (zero when already past).
    pub remaining: Duration,
    pub steps: Vec<ClaimedStep>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClaimedStep {
    pub step_number: i32,
    pub step_id: StepId,
    pub step_type: StepType,
    pub settings: String,
    /// Completed steps of an earlier attempt are not run again; their output is reused.
    pub completed_output: Option<Value>,
    /// How the step is retried after a transient failure; `None`: it is not.
    pub retry: Option<RetryPolicy>,
    /// Tries of this step that failed and were retried already.
    pub retries: i32,
}

/// Identifies one claim of an execution. Every write a worker makes carries it, and matches
/// only while the execution is still Running under this attempt, so a worker that was paused
/// and wakes up late changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fence {
    pub scope: Scope,
    pub execution_id: ExecutionId,
    pub attempt: i32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StepResult {
    pub succeeded: bool,
    pub output: Option<Value>,
    pub log: Option<String>,
    pub error: Option<String>,
}

impl StepResult {
    /// The status the step ends with, as every backend stores it.
    pub fn status(&self) -> StepRunStatus {
        if self.succeeded {
            StepRunStatus::Completed
        } else {
            StepRunStatus::Failed
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum FinalOutcome {
    Completed,
    Failed { notes: String },
}

/// The result of the step that ended an execution (its last step, or the one that failed). It
/// is written together with the execution's outcome: one commit instead of two.
#[derive(Clone, Debug, PartialEq)]
pub struct FinalStep {
    pub step_number: i32,
    pub result: StepResult,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReapReport {
    pub requeued: u64,
    pub failed: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutboxItem {
    pub id: i64,
    pub message: ExecuteMessage,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FireReport {
    /// Due triggers this round looked at.
    pub claimed: usize,
    pub fired: u64,
    pub missed: u64,
}

/// A secret as listed: its name and dates, never its value.
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretInfo {
    #[schema(value_type = String, example = "API_TOKEN")]
    pub name: crate::domain::secrets::SecretName,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A webhook signing secret as stored: sealed, with when a rotation ends it (`None`: the
/// current one).
#[derive(Clone, Debug)]
pub struct StoredSigningSecret {
    pub sealed: crate::crypto::Sealed,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A sealed value and the row it belongs to, for sealing it again under another key.
#[derive(Clone, Debug)]
pub struct SealedEntry {
    pub scope: Scope,
    pub target: SealedTarget,
    pub sealed: crate::crypto::Sealed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealedTarget {
    Secret(crate::domain::secrets::SecretName),
    /// A webhook signing secret, by its row id.
    SigningSecret(uuid::Uuid),
}

/// Which audit entries to list, newest first: those of one project and of its whole tenant.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub target_id: Option<String>,
    pub action: Option<crate::domain::audit::AuditAction>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// The page starts after this entry.
    pub after: Option<Cursor<crate::domain::ids::AuditId>>,
    pub limit: i64,
}

/// What raising an event made: every execution it answers, and which of them are new (the
/// rest were made by an earlier request with the same idempotency key).
#[derive(Clone, Debug, PartialEq)]
pub struct RaisedEvent {
    pub executions: Vec<Execution>,
    pub created: Vec<ExecutionId>,
}
