//! The stored shape of actions, steps and triggers, serialised exactly as the Actions API
//! documents them (camelCase field names, `settings` as a JSON string).

use crate::domain::ids::{ActionId, ExecutionId, KeyId, ProjectId, StepId, TriggerId};
use crate::domain::retry::RetryPolicy;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Defines a string enum whose variants are spelled on the wire and in the database exactly as
/// their Rust names; `parse` lists the accepted spellings in its error.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
        )]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $(stringify!($variant) => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} '{}' (expected one of: {})",
                        stringify!($name),
                        other,
                        [$(stringify!($variant)),+].join(", ")
                    )),
                }
            }
        }
    };
}

wire_enum!(
    /// What a step does. One module per kind runs it in the worker.
    StepType { Python, Email, Webhook }
);

wire_enum!(
    /// What fires an action besides an explicit execute.
    TriggerType { HourlyScheduler, DailyScheduler, WeeklyScheduler, MonthlyScheduler, EventTrigger, CronScheduler }
);

wire_enum!(
    /// `Running` while one of the action's executions is running, otherwise `Idle`.
    ActionStatus { Idle, Running }
);

wire_enum!(
    /// The outcome of an action's latest finished execution.
    RunResult { Success, Failed }
);

/// An action as every endpoint answers it. Response fields are always present (`null` where
/// there is no value), so the document marks them all required.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    /// The action's id.
    pub action_id: ActionId,
    /// The project the action belongs to.
    pub project_id: ProjectId,
    /// Display name, unique in the project.
    pub name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    pub is_enabled: bool,
    /// Bound on a whole execution, in seconds.
    #[schema(minimum = 1, maximum = 86400)]
    pub max_run_time: i32,
    /// Days this action's finished executions are kept before they are deleted (extension);
    /// null: the service's default (`ACTUATE_RETENTION_DAYS`).
    #[schema(required = true, minimum = 1, maximum = 36500)]
    pub retention_days: Option<i32>,
    /// At most this many of its executions Running at once (per `concurrencyKey` value when it
    /// has one; extension); null: no limit, or 1 per key value when only a key is given.
    #[schema(required = true, minimum = 1, maximum = 10000)]
    pub max_concurrency: Option<i32>,
    /// A path into the input (`{{ input.customerId }}`) whose value groups executions for
    /// `maxConcurrency` (extension); null: one group for the whole action.
    #[schema(required = true)]
    pub concurrency_key: Option<String>,
    /// `Running` while one of the action's executions is Running.
    pub action_status: ActionStatus,
    /// Earliest next firing of its schedule triggers; null when disabled or when it has none.
    #[schema(required = true)]
    pub next_run_time: Option<DateTime<Utc>>,
    /// Start time of the latest finished execution; null before the first.
    #[schema(required = true)]
    pub last_run_time: Option<DateTime<Utc>>,
    /// Result of the latest finished execution; null before the first.
    #[schema(required = true)]
    pub last_run_result: Option<RunResult>,
    pub date_created: DateTime<Utc>,
    pub date_modified: DateTime<Utc>,
    /// Id of the API key that created the action.
    pub created_by: KeyId,
    /// Id of the API key that last changed the action.
    pub modified_by: KeyId,
    pub triggers: Vec<Trigger>,
    /// Ordered by `stepNumber`.
    pub steps: Vec<Step>,
}

/// One step of an action, in the order `stepNumber` gives.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = ActionStep)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub step_id: StepId,
    pub action_id: ActionId,
    #[schema(minimum = 1)]
    pub step_number: i32,
    pub step_type: StepType,
    #[schema(required = true)]
    pub description: Option<String>,
    /// A string containing a JSON object, exactly as the caller gave it (or the string form of
    /// a given object).
    #[schema(
        content_media_type = "application/json",
        example = "{\"script\": \"refresh_data.py\"}"
    )]
    pub settings: String,
    /// How a transient failure of the step is retried (extension); null: it is not.
    #[schema(required = true)]
    pub retry: Option<RetryPolicy>,
    pub date_created: DateTime<Utc>,
}

/// What fires an action: a schedule or an event.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = ActionTrigger)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    pub trigger_id: TriggerId,
    pub action_id: ActionId,
    /// `CronScheduler` is an extension.
    pub trigger_type: TriggerType,
    /// A string containing a JSON object; `"{}"` when none was given.
    #[schema(content_media_type = "application/json", example = "{}")]
    pub settings: String,
    #[schema(minimum = 1, maximum = 10000)]
    pub frequency: i32,
    /// The event that fires an `EventTrigger`.
    #[schema(required = true)]
    pub event_name: Option<String>,
    /// `YYYY-MM-DD`; defaults to the day the trigger was created.
    #[schema(required = true)]
    pub start_date: Option<NaiveDate>,
    pub date_created: DateTime<Utc>,
}

wire_enum!(
    /// The documented execution statuses; no others exist.
    ExecutionStatus { Queued, Running, Completed, Failed }
);

wire_enum!(
    /// Where one step of an execution stands.
    StepRunStatus { Pending, Running, Completed, Failed, Skipped }
);

/// What created an execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TriggerKind {
    Manual,
    Schedule,
    Event,
}

impl TriggerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Manual => "manual",
            TriggerKind::Schedule => "schedule",
            TriggerKind::Event => "event",
        }
    }
}

impl FromStr for TriggerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "manual" => Ok(Self::Manual),
            "schedule" => Ok(Self::Schedule),
            "event" => Ok(Self::Event),
            other => Err(format!("unknown trigger kind '{other}'")),
        }
    }
}

/// An execution as the documented endpoints answer it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub action_id: ActionId,
    pub action_execution_id: ExecutionId,
    /// When the execution was queued.
    pub date_started: DateTime<Utc>,
    /// When it reached Completed or Failed.
    #[schema(required = true)]
    pub date_ended: Option<DateTime<Utc>>,
    pub status: ExecutionStatus,
    /// Human-readable reason on failure.
    #[schema(required = true)]
    pub notes: Option<String>,
}

/// An execution read by id: the documented fields plus the extension fields.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDetail {
    #[serde(flatten)]
    pub execution: Execution,
    pub action_name: String,
    /// Number of claims by workers so far.
    pub attempt: i32,
    pub trigger: TriggerKind,
    /// The execution's input (any JSON value), or null.
    #[schema(required = true)]
    pub input: Option<serde_json::Value>,
    /// A delayed run's start time: it stays Queued until then. Null: started when a worker
    /// was free.
    #[schema(required = true)]
    pub run_at: Option<DateTime<Utc>>,
    /// The execution this one re-runs (`POST .../rerun`), or null.
    #[schema(required = true)]
    pub rerun_of: Option<ExecutionId>,
    pub steps: Vec<ExecutionStep>,
}

/// One step of an execution: where it stands and what it produced.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStep {
    pub step_id: StepId,
    #[schema(minimum = 1)]
    pub step_number: i32,
    pub step_type: StepType,
    pub status: StepRunStatus,
    #[schema(required = true)]
    pub date_started: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub date_ended: Option<DateTime<Utc>>,
    /// The step's output (any JSON value), or null.
    #[schema(required = true)]
    pub output: Option<serde_json::Value>,
    #[schema(required = true)]
    pub log: Option<String>,
    /// The error of the last failed try (while a retry waits, or when the step failed).
    #[schema(required = true)]
    pub error: Option<String>,
    /// Tries of this step so far, the one running included (0 before the first).
    #[schema(minimum = 0)]
    pub attempts: i32,
}
