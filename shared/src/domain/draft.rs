//! Validated input for creating and changing actions. The API turns request bodies into these
//! (naming the offending field on failure); storage backends take only these, so nothing
//! unvalidated ever reaches a table.

use crate::domain::concurrency::{self, KeyPath};
use crate::domain::ids::{StepId, TriggerId};
use crate::domain::model::{StepType, TriggerType};
use crate::domain::names::EventName;
use crate::domain::retry::RetryPolicy;
use crate::domain::schedule::Schedule;
use chrono::{DateTime, NaiveDate, Utc};

/// Bounds on what one action may hold; documented in the README.
pub mod limits {
    pub const MAX_RUN_TIME_DEFAULT: i32 = 3600;
    pub const MAX_RUN_TIME_MIN: i64 = 1;
    pub const MAX_RUN_TIME_MAX: i64 = 86_400;
    pub const NAME_MAX_CHARS: usize = 200;
    pub const DESCRIPTION_MAX_CHARS: usize = 4_000;
    pub const EVENT_NAME_MAX_CHARS: usize = 200;
    pub const MAX_STEPS: usize = 100;
    pub const MAX_TRIGGERS: usize = 100;
    pub const FREQUENCY_MAX: i64 = 10_000;
    /// `retentionDays` of an action: a hundred years at most.
    pub const RETENTION_DAYS_MAX: i64 = 36_500;
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionDraft {
    pub name: String,
    pub description: Option<String>,
    pub is_enabled: bool,
    pub max_run_time: i32,
    /// Days its finished executions are kept; `None`: the service's default.
    pub retention_days: Option<i32>,
    pub concurrency: Concurrency,
    pub steps: Vec<StepDraft>,
    pub triggers: Vec<TriggerDraft>,
}

/// A partial update: `None` leaves the field as it is. A given `steps` or `triggers` list
/// replaces the stored list (entries keep their ids when they name one).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ActionPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_enabled: Option<bool>,
    pub max_run_time: Option<i32>,
    /// `Some(None)`: back to the service's default.
    pub retention_days: Option<Option<i32>>,
    /// `Some(None)`: no more limit of this kind.
    pub max_concurrency: Option<Option<i32>>,
    pub concurrency_key: Option<Option<ConcurrencyKey>>,
    pub steps: Option<Vec<StepDraft>>,
    pub triggers: Option<Vec<TriggerDraft>>,
}

impl ActionPatch {
    /// The API names of the fields this patch changes, for the audit log.
    pub fn changed_fields(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("description", self.description.is_some()),
            ("isEnabled", self.is_enabled.is_some()),
            ("maxRunTime", self.max_run_time.is_some()),
            ("retentionDays", self.retention_days.is_some()),
            ("maxConcurrency", self.max_concurrency.is_some()),
            ("concurrencyKey", self.concurrency_key.is_some()),
            ("steps", self.steps.is_some()),
            ("triggers", self.triggers.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect()
    }
}

/// A `concurrencyKey`: the template as given, and the path into the input it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConcurrencyKey {
    pub template: String,
    pub path: KeyPath,
}

/// An action's concurrency limit (see [`crate::domain::concurrency`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Concurrency {
    pub max: Option<i32>,
    pub key: Option<ConcurrencyKey>,
}

impl Concurrency {
    /// Executions of one group that may run at once; `None`: no limit.
    pub fn limit(&self) -> Option<i32> {
        concurrency::limit(self.max, self.key.as_ref().map(|k| &k.path))
    }

    /// This limit with a patch's fields applied.
    pub fn patched(self, patch: &ActionPatch) -> Self {
        Self {
            max: patch.max_concurrency.unwrap_or(self.max),
            key: patch.concurrency_key.clone().unwrap_or(self.key),
        }
    }

    /// The limit as stored: the max and key template as given (the path is read again from
    /// the template).
    pub fn from_stored(max: Option<i32>, template: Option<String>) -> Result<Self, String> {
        let key = template
            .map(|template| KeyPath::parse(&template).map(|path| ConcurrencyKey { template, path }))
            .transpose()?;
        Ok(Self { max, key })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct StepDraft {
    /// Only meaningful on update: the existing step this entry updates.
    pub step_id: Option<StepId>,
    pub step_number: i32,
    pub step_type: StepType,
    pub description: Option<String>,
    /// Validated JSON text for `step_type`.
    pub settings: String,
    /// `None`: a failure is not retried.
    pub retry: Option<RetryPolicy>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TriggerDraft {
    /// Only meaningful on update: the existing trigger this entry updates.
    pub trigger_id: Option<TriggerId>,
    pub trigger_type: TriggerType,
    pub settings: String,
    pub frequency: i32,
    pub event_name: Option<EventName>,
    /// `None` means "the day the trigger is created"; storage fills it in.
    pub start_date: Option<NaiveDate>,
}

impl TriggerDraft {
    /// The first slot of a schedule trigger strictly after `now` (`None` for events, or
    /// settings that no longer parse: such a trigger never fires rather than firing wrongly).
    pub fn next_fire_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let settings: serde_json::Value = serde_json::from_str(&self.settings).ok()?;
        let start = self.start_date.unwrap_or_else(|| now.date_naive());
        Schedule::parse(self.trigger_type, self.frequency, start, &settings)
            .ok()
            .flatten()?
            .next_after(now)
    }
}
