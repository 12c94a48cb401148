//! The stored shape of actions, steps and triggers, serialised exactly as the Actions API
//! documents them (camelCase field names, `settings` as a JSON string).

use crate::ids::{ActionId, ExecutionId, KeyId, ProjectId, StepId, TriggerId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Defines a string enum whose variants are spelled on the wire and in the database exactly as
/// their Rust names; `parse` lists the accepted spellings in its error.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    pub action_id: ActionId,
    pub project_id: ProjectId,
    pub name: String,
    pub description: Option<String>,
    pub is_enabled: bool,
    pub max_run_time: i32,
    pub action_status: ActionStatus,
    pub next_run_time: Option<DateTime<Utc>>,
    pub last_run_time: Option<DateTime<Utc>>,
    pub last_run_result: Option<RunResult>,
    pub date_created: DateTime<Utc>,
    pub date_modified: DateTime<Utc>,
    pub created_by: KeyId,
    pub modified_by: KeyId,
    pub triggers: Vec<Trigger>,
    /// Always ordered by `step_number`.
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub step_id: StepId,
    pub action_id: ActionId,
    pub step_number: i32,
    pub step_type: StepType,
    pub description: Option<String>,
    /// JSON text, exactly as the caller gave it (or the string form of a given object).
    pub settings: String,
    pub date_created: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    pub trigger_id: TriggerId,
    pub action_id: ActionId,
    pub trigger_type: TriggerType,
    /// JSON text; `"{}"` when the caller gave none.
    pub settings: String,
    pub frequency: i32,
    pub event_name: Option<String>,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub action_id: ActionId,
    pub action_execution_id: ExecutionId,
    /// When the execution was queued.
    pub date_started: DateTime<Utc>,
    pub date_ended: Option<DateTime<Utc>>,
    pub status: ExecutionStatus,
    pub notes: Option<String>,
}

/// An execution read by id: the documented fields plus the extension fields.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDetail {
    #[serde(flatten)]
    pub execution: Execution,
    pub action_name: String,
    pub attempt: i32,
    pub trigger: TriggerKind,
    pub input: Option<serde_json::Value>,
    pub steps: Vec<ExecutionStep>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStep {
    pub step_id: StepId,
    pub step_number: i32,
    pub step_type: StepType,
    pub status: StepRunStatus,
    pub date_started: Option<DateTime<Utc>>,
    pub date_ended: Option<DateTime<Utc>>,
    pub output: Option<serde_json::Value>,
    pub log: Option<String>,
    pub error: Option<String>,
}
