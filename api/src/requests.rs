//! Request bodies of the action endpoints and their validation into storage drafts. Every
//! message names the field it is about (`steps[1].settings: ...`). Server-owned fields
//! (`actionId`, `dateCreated`, `createdBy`, ...) are simply not declared here, so a body that
//! carries them changes nothing.
//!
//! `null` counts as "not given" throughout: many clients serialise every property of their
//! request type, and such a body must not wipe fields on a partial update.

use crate::error::ApiError;
use crate::extract::ObjectShape;
use actuate_shared::domain::concurrency::{KeyPath, MAX_CONCURRENCY_MAX};
use actuate_shared::domain::draft::{ActionDraft, ActionPatch, StepDraft, TriggerDraft, limits};
use actuate_shared::domain::draft::{Concurrency, ConcurrencyKey};
use actuate_shared::domain::ids::{StepId, TriggerId};
use actuate_shared::domain::model::{StepType, TriggerType};
use actuate_shared::domain::names::{self, EventName};
use actuate_shared::domain::retry::RetryPolicy;
use actuate_shared::domain::schedule::Schedule;
use actuate_shared::domain::step_settings::StepSettings;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionRequest {
    name: Option<String>,
    description: Option<String>,
    is_enabled: Option<bool>,
    #[serde(default, deserialize_with = "integer")]
    max_run_time: Option<i64>,
    #[serde(default, deserialize_with = "integer")]
    retention_days: Option<i64>,
    #[serde(default, deserialize_with = "integer")]
    max_concurrency: Option<i64>,
    concurrency_key: Option<String>,
    steps: Option<Vec<StepRequest>>,
    triggers: Option<Vec<TriggerRequest>>,
}

impl ObjectShape for ActionRequest {
    const OBJECT_LISTS: &'static [&'static str] = &["steps", "triggers"];
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepRequest {
    step_id: Option<StepId>,
    #[serde(default, deserialize_with = "integer")]
    step_number: Option<i64>,
    step_type: Option<String>,
    description: Option<String>,
    settings: Option<Value>,
    retry: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerRequest {
    trigger_id: Option<TriggerId>,
    trigger_type: Option<String>,
    settings: Option<Value>,
    #[serde(default, deserialize_with = "integer")]
    frequency: Option<i64>,
    event_name: Option<String>,
    start_date: Option<String>,
}

/// An optional integer field. JSON has one kind of number, so `60.0` is the integer 60 (as
/// JSON Schema's `integer` has it, and as some serialisers write whole numbers); a number with
/// a fraction, or beyond an `i64`, is refused.
pub(crate) fn integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    actuate_shared::domain::step_settings::whole_number(&number)
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "invalid number `{number}`, expected a whole number"
            ))
        })
}

fn bad(field: impl std::fmt::Display, problem: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("{field}: {problem}"))
}

/// Free text: no NUL (PostgreSQL text cannot hold it) and a length cap.
fn check_text(field: &str, value: &str, max_chars: usize) -> Result<(), ApiError> {
    if value.contains('\0') {
        return Err(bad(field, "must not contain NUL characters"));
    }
    if value.chars().count() > max_chars {
        return Err(bad(
            field,
            format_args!("must be at most {max_chars} characters"),
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<String, ApiError> {
    names::check(name, limits::NAME_MAX_CHARS).map_err(|e| bad("name", e))?;
    Ok(name.to_string())
}

fn check_description(field: &str, d: Option<String>) -> Result<Option<String>, ApiError> {
    if let Some(d) = &d {
        check_text(field, d, limits::DESCRIPTION_MAX_CHARS)?;
    }
    Ok(d)
}

/// `retentionDays`: 1 to [`limits::RETENTION_DAYS_MAX`] days, or 0 for the service's default
/// (`None`).
fn check_retention_days(v: i64) -> Result<Option<i32>, ApiError> {
    match v {
        0 => Ok(None),
        1..=limits::RETENTION_DAYS_MAX => Ok(Some(v as i32)),
        _ => Err(bad(
            "retentionDays",
            format_args!(
                "{v} is out of range: must be between 1 and {} days, or 0 for the default",
                limits::RETENTION_DAYS_MAX
            ),
        )),
    }
}

/// `maxConcurrency`: 1 to [`MAX_CONCURRENCY_MAX`], or 0 for no limit (`None`).
fn check_max_concurrency(v: i64) -> Result<Option<i32>, ApiError> {
    match v {
        0 => Ok(None),
        1..=MAX_CONCURRENCY_MAX => Ok(Some(v as i32)),
        _ => Err(bad(
            "maxConcurrency",
            format_args!(
                "{v} is out of range: must be between 1 and {MAX_CONCURRENCY_MAX}, or 0 for no limit"
            ),
        )),
    }
}

/// `concurrencyKey`: a path into the input, or "" for none (`None`).
fn check_concurrency_key(template: String) -> Result<Option<ConcurrencyKey>, ApiError> {
    if template.is_empty() {
        return Ok(None);
    }
    let path = KeyPath::parse(&template).map_err(|e| bad("concurrencyKey", e))?;
    Ok(Some(ConcurrencyKey { template, path }))
}

fn check_max_run_time(v: i64) -> Result<i32, ApiError> {
    if !(limits::MAX_RUN_TIME_MIN..=limits::MAX_RUN_TIME_MAX).contains(&v) {
        return Err(bad(
            "maxRunTime",
            format_args!(
                "{v} is out of range: must be between {} and {} seconds",
                limits::MAX_RUN_TIME_MIN,
                limits::MAX_RUN_TIME_MAX
            ),
        ));
    }
    Ok(v as i32)
}

/// `settings` may come as the documented JSON string or, as an extension, a JSON object; the
/// stored form is always text. A string keeps the caller's exact text.
fn settings_text(field: &str, value: Value) -> Result<(String, Value), ApiError> {
    match value {
        Value::String(text) => {
            let parsed: Value = serde_json::from_str(&text)
                .map_err(|e| bad(field, format_args!("is not valid JSON: {e}")))?;
            if !parsed.is_object() {
                return Err(bad(field, "must be a JSON object"));
            }
            Ok((text, parsed))
        }
        object @ Value::Object(_) => Ok((object.to_string(), object)),
        _ => Err(bad(
            field,
            "must be a JSON string (or object) holding a JSON object",
        )),
    }
}

/// A `YYYY-MM-DD` date, exactly: chrono's `%Y-%m-%d` alone also takes `2024-1-5`, `+2024-01-05`
/// and leading whitespace, which the documented format does not.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let digits_and_dashes = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    digits_and_dashes
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
}

fn steps(list: Vec<StepRequest>) -> Result<Vec<StepDraft>, ApiError> {
    if list.is_empty() {
        return Err(bad("steps", "an action needs at least one step"));
    }
    if list.len() > limits::MAX_STEPS {
        return Err(bad(
            "steps",
            format_args!("at most {} steps", limits::MAX_STEPS),
        ));
    }
    // Explicit numbers are kept; missing ones follow the highest explicit one, in list order,
    // so they can never collide with a number given later in the list.
    let mut next = 1i64;
    for (i, s) in list.iter().enumerate() {
        if let Some(n) = s.step_number {
            if !(1..=i32::MAX as i64).contains(&n) {
                return Err(bad(
                    format_args!("steps[{i}].stepNumber"),
                    "must be a positive integer",
                ));
            }
            next = next.max(n + 1);
        }
    }
    let mut numbers = HashSet::new();
    let mut ids = HashSet::new();
    let mut drafts = Vec::with_capacity(list.len());
    for (i, s) in list.into_iter().enumerate() {
        let field = |name: &str| format!("steps[{i}].{name}");
        let step_number = match s.step_number {
            Some(n) => n,
            None => {
                next += 1;
                next - 1
            }
        };
        let step_number = i32::try_from(step_number)
            .map_err(|_| bad(field("stepNumber"), "too many steps to number"))?;
        if !numbers.insert(step_number) {
            return Err(bad(
                field("stepNumber"),
                format_args!("{step_number} is used by more than one step"),
            ));
        }
        if let Some(id) = s.step_id
            && !ids.insert(id)
        {
            return Err(bad(field("stepId"), format_args!("{id} is listed twice")));
        }
        let step_type: StepType = s
            .step_type
            .ok_or_else(|| bad(field("stepType"), "required"))?
            .parse()
            .map_err(|e| bad(field("stepType"), e))?;
        let (settings, parsed) = settings_text(
            &field("settings"),
            s.settings
                .ok_or_else(|| bad(field("settings"), "required"))?,
        )?;
        let typed =
            StepSettings::parse(step_type, &parsed).map_err(|e| bad(field("settings"), e))?;
        if let StepSettings::Python(python) = &typed
            && let Some(code) = &python.code
        {
            crate::python_syntax::check(code)
                .map_err(|e| bad(field("settings"), format_args!("code: syntax error at {e}")))?;
        }
        drafts.push(StepDraft {
            step_id: s.step_id,
            step_number,
            step_type,
            description: check_description(&field("description"), s.description)?,
            settings,
            retry: s
                .retry
                .filter(|r| !r.is_null())
                .map(|r| RetryPolicy::parse(&r))
                .transpose()
                .map_err(|e| bad(field("retry"), e))?,
        });
    }
    drafts.sort_by_key(|s| s.step_number);
    Ok(drafts)
}

fn triggers(list: Vec<TriggerRequest>) -> Result<Vec<TriggerDraft>, ApiError> {
    if list.len() > limits::MAX_TRIGGERS {
        return Err(bad(
            "triggers",
            format_args!("at most {} triggers", limits::MAX_TRIGGERS),
        ));
    }
    let mut ids = HashSet::new();
    list.into_iter()
        .enumerate()
        .map(|(i, t)| {
            let field = |name: &str| format!("triggers[{i}].{name}");
            if let Some(id) = t.trigger_id
                && !ids.insert(id)
            {
                return Err(bad(
                    field("triggerId"),
                    format_args!("{id} is listed twice"),
                ));
            }
            let trigger_type: TriggerType = t
                .trigger_type
                .ok_or_else(|| bad(field("triggerType"), "required"))?
                .parse()
                .map_err(|e| bad(field("triggerType"), e))?;
            let frequency = t.frequency.unwrap_or(1);
            if !(1..=limits::FREQUENCY_MAX).contains(&frequency) {
                return Err(bad(
                    field("frequency"),
                    format_args!("must be between 1 and {}", limits::FREQUENCY_MAX),
                ));
            }
            let event_name = match (trigger_type, t.event_name) {
                (TriggerType::EventTrigger, None) => {
                    return Err(bad(field("eventName"), "required for an EventTrigger"));
                }
                (_, name) => name
                    .map(|n| EventName::parse(&n).map_err(|e| bad(field("eventName"), e)))
                    .transpose()?,
            };
            let (settings, parsed) = match t.settings {
                None => ("{}".to_string(), Value::Object(Default::default())),
                Some(v) => settings_text(&field("settings"), v)?,
            };
            let start_date = t
                .start_date
                .map(|d| {
                    parse_date(&d).ok_or_else(|| {
                        bad(
                            field("startDate"),
                            format_args!("'{}' is not a date (YYYY-MM-DD)", d.escape_debug()),
                        )
                    })
                })
                .transpose()?;
            // Schedule settings are checked now, so a trigger never silently fails to fire.
            let any_day = start_date.unwrap_or_else(|| chrono::Utc::now().date_naive());
            Schedule::parse(trigger_type, frequency as i32, any_day, &parsed)
                .and_then(|_| Schedule::catch_up(&parsed))
                .map_err(|e| bad(field("settings"), e))?;
            Ok(TriggerDraft {
                trigger_id: t.trigger_id,
                trigger_type,
                settings,
                frequency: frequency as i32,
                event_name,
                start_date,
            })
        })
        .collect()
}

impl ActionRequest {
    pub fn into_draft(self) -> Result<ActionDraft, ApiError> {
        Ok(ActionDraft {
            name: check_name(&self.name.ok_or_else(|| bad("name", "required"))?)?,
            description: check_description("description", self.description)?,
            is_enabled: self.is_enabled.unwrap_or(true),
            max_run_time: match self.max_run_time {
                Some(v) => check_max_run_time(v)?,
                None => limits::MAX_RUN_TIME_DEFAULT,
            },
            retention_days: self
                .retention_days
                .map(check_retention_days)
                .transpose()?
                .flatten(),
            concurrency: Concurrency {
                max: self
                    .max_concurrency
                    .map(check_max_concurrency)
                    .transpose()?
                    .flatten(),
                key: self
                    .concurrency_key
                    .map(check_concurrency_key)
                    .transpose()?
                    .flatten(),
            },
            steps: steps(
                self.steps
                    .ok_or_else(|| bad("steps", "required (at least one step)"))?,
            )?,
            triggers: triggers(self.triggers.unwrap_or_default())?,
        })
    }

    pub fn into_patch(self) -> Result<ActionPatch, ApiError> {
        Ok(ActionPatch {
            name: self.name.as_deref().map(check_name).transpose()?,
            description: check_description("description", self.description)?,
            is_enabled: self.is_enabled,
            max_run_time: self.max_run_time.map(check_max_run_time).transpose()?,
            retention_days: self.retention_days.map(check_retention_days).transpose()?,
            max_concurrency: self
                .max_concurrency
                .map(check_max_concurrency)
                .transpose()?,
            concurrency_key: self
                .concurrency_key
                .map(check_concurrency_key)
                .transpose()?,
            steps: self.steps.map(steps).transpose()?,
            triggers: self.triggers.map(triggers).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::parse_json;
    use serde_json::json;

    fn draft(body: Value) -> Result<ActionDraft, String> {
        parse_json::<ActionRequest>(body.to_string().as_bytes())
            .and_then(ActionRequest::into_draft)
            .map_err(|e| e.to_string())
    }

    fn step(settings: &str) -> Value {
        json!({"stepType": "Python", "settings": settings})
    }

    #[test]
    fn defaults_fill_in() {
        let d = draft(json!({"name": "x", "steps": [step("{\"code\": \"result = 1\"}")]})).unwrap();
        assert!(d.is_enabled);
        assert_eq!(d.max_run_time, 3600);
        assert_eq!(d.steps[0].step_number, 1);
        assert_eq!(d.steps[0].settings, "{\"code\": \"result = 1\"}");
        assert!(d.triggers.is_empty());
    }

    #[test]
    fn missing_step_numbers_follow_the_highest_given() {
        let d = draft(json!({"name": "x", "steps": [
            step("{}"),
            {"stepType": "Python", "settings": "{}", "stepNumber": 1},
            step("{}"),
        ]}))
        .unwrap();
        let numbers: Vec<i32> = d.steps.iter().map(|s| s.step_number).collect();
        assert_eq!(numbers, vec![1, 2, 3]);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (json!({"steps": [step("{}")]}), "name: required"),
            (
                json!({"name": " ", "steps": [step("{}")]}),
                "name: must not be empty",
            ),
            (json!({"name": "x"}), "steps: required"),
            (json!({"name": "x", "steps": []}), "steps: an action needs"),
            (
                json!({"name": "x", "maxRunTime": 0, "steps": [step("{}")]}),
                "maxRunTime",
            ),
            (
                json!({"name": "x", "maxRunTime": 86401, "steps": [step("{}")]}),
                "maxRunTime",
            ),
            (
                json!({"name": "x", "steps": [{"stepType": "Shell", "settings": "{}"}]}),
                "steps[0].stepType",
            ),
            (
                json!({"name": "x", "steps": [{"stepType": "Python"}]}),
                "steps[0].settings: required",
            ),
            (
                json!({"name": "x", "steps": [step("{not json")]}),
                "steps[0].settings: is not valid JSON",
            ),
            (
                json!({"name": "x", "steps": [step("[1]")]}),
                "steps[0].settings: must be a JSON object",
            ),
            (
                json!({"name": "x", "steps": [{"stepType": "Python", "settings": 5}]}),
                "steps[0].settings",
            ),
            (
                json!({"name": "x", "steps": [
                {"stepType": "Python", "settings": "{}", "stepNumber": 2},
                {"stepType": "Python", "settings": "{}", "stepNumber": 2}]}),
                "steps[1].stepNumber",
            ),
            (
                json!({"name": "x", "steps": [step("{}")], "triggers": [{"triggerType": "EventTrigger"}]}),
                "triggers[0].eventName: required",
            ),
            (
                json!({"name": "x", "steps": [step("{}")], "triggers": [{"triggerType": "Yearly"}]}),
                "triggers[0].triggerType",
            ),
            (
                json!({"name": "x", "steps": [step("{}")], "triggers": [{"triggerType": "DailyScheduler", "frequency": 0}]}),
                "triggers[0].frequency",
            ),
            (
                json!({"name": "x", "steps": [step("{}")], "triggers": [{"triggerType": "DailyScheduler", "startDate": "15/01/2024"}]}),
                "triggers[0].startDate",
            ),
            (
                json!({"name": "x", "steps": [step("{}")], "triggers": [{"triggerType": "DailyScheduler", "startDate": "2024-1-5"}]}),
                "triggers[0].startDate",
            ),
            (
                json!({"name": "x", "steps": [step("{}")], "triggers": [{"triggerType": "DailyScheduler", "startDate": " 2024-01-05"}]}),
                "triggers[0].startDate",
            ),
            (
                json!({"name": "x", "steps": [step("{}")], "triggers": [{"triggerType": "DailyScheduler", "startDate": "+2024-01-05"}]}),
                "triggers[0].startDate",
            ),
            (
                json!({"name": "x", "steps": [step("{}")], "triggers": [{"triggerType": "DailyScheduler", "startDate": "2024-02-30"}]}),
                "triggers[0].startDate",
            ),
            (
                json!({"name": "x", "steps": [[null, null, "Python", null, "{}"]]}),
                "steps[0]: must be a JSON object",
            ),
            (
                json!({"name": "x", "steps": [step("{}")], "triggers": [["EventTrigger"]]}),
                "triggers[0]: must be a JSON object",
            ),
            (
                json!(["x", null, null, null, [step("{}")]]),
                "invalid JSON body: must be a JSON object",
            ),
            (
                json!({"name": "a\u{0}b", "steps": [step("{}")]}),
                "name: must not contain control characters (found U+0000)",
            ),
            (
                json!({"name": "x", "maxRunTime": "60", "steps": [step("{}")]}),
                "at maxRunTime",
            ),
            (
                json!({"name": "x", "maxRunTime": 1e30, "steps": [step("{}")]}),
                "at maxRunTime",
            ),
            (
                json!({"name": "x", "maxRunTime": 60.5, "steps": [step("{}")]}),
                "at maxRunTime: invalid number `60.5`, expected a whole number",
            ),
            (
                json!({"name": "x", "steps": [{"stepType": "Python", "settings": "{}", "stepNumber": 1.5}]}),
                "at steps[0].stepNumber",
            ),
        ];
        for (body, expected) in cases {
            let err = draft(body.clone()).unwrap_err();
            assert!(err.contains(expected), "{body} → {err} (wanted {expected})");
        }
    }

    #[test]
    fn whole_numbers_may_be_written_with_a_fraction() {
        let d = draft(json!({"name": "x", "maxRunTime": 60.0, "steps": [
            {"stepType": "Python", "settings": "{}", "stepNumber": 2.0}],
            "triggers": [{"triggerType": "DailyScheduler", "frequency": 3e0}]}))
        .unwrap();
        assert_eq!(d.max_run_time, 60);
        assert_eq!(d.steps[0].step_number, 2);
        assert_eq!(d.triggers[0].frequency, 3);
    }

    #[test]
    fn settings_object_is_stored_as_text() {
        let d = draft(json!({"name": "x", "steps": [
            {"stepType": "Webhook", "settings": {"url": "https://example.com"}}]}))
        .unwrap();
        assert_eq!(d.steps[0].settings, r#"{"url":"https://example.com"}"#);
    }

    #[test]
    fn nulls_mean_not_given_on_update() {
        let patch = parse_json::<ActionRequest>(
            br#"{"name": null, "description": null, "isEnabled": null, "steps": null}"#,
        )
        .unwrap()
        .into_patch()
        .unwrap();
        assert_eq!(patch, ActionPatch::default());
    }
}
