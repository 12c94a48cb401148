//! Schemas of the request bodies: action create and update (`crate::requests`) and the
//! optional body of an execute.

use super::values::{NO_NUL_PATTERN, end};
use super::{Schemas, reference};
use crate::routes::BULK_LIMIT;
use actuate_shared::domain::concurrency::MAX_CONCURRENCY_MAX;
use actuate_shared::domain::draft::limits;
use actuate_shared::domain::policy::start::MAX_DELAY_SECONDS;
use actuate_shared::domain::secrets;
use serde_json::json;

pub fn schemas() -> Schemas {
    let max_run_time = json!({
        "type": ["integer", "null"],
        "minimum": limits::MAX_RUN_TIME_MIN,
        "maximum": limits::MAX_RUN_TIME_MAX,
        "description": "Seconds."
    });
    let retention_days = json!({
        "type": ["integer", "null"],
        "minimum": 0,
        "maximum": limits::RETENTION_DAYS_MAX,
        "description": "Days this action's finished executions are kept (extension); 0 or absent: the service's default, ACTUATE_RETENTION_DAYS."
    });
    let max_concurrency = json!({
        "type": ["integer", "null"],
        "minimum": 0,
        "maximum": MAX_CONCURRENCY_MAX,
        "description": "At most this many executions of the action Running at once, across all workers (per concurrencyKey value when it has one; extension); 0 or absent: no limit (or 1 per key value when only concurrencyKey is given)."
    });
    let concurrency_key = json!({
        "type": ["string", "null"],
        "pattern": concat!(
            r"^(\s*\{\{\s*input(\.[A-Za-z0-9_-]+){1,10}\s*\}\}\s*)?",
            end!()
        ),
        "description": "A path into the execution's input, as a template (`{{ input.customerId }}`): executions with the same value share maxConcurrency (extension); \"\" or absent: one group for the whole action."
    });
    let mut create_max_run_time = max_run_time.clone();
    create_max_run_time["default"] = json!(limits::MAX_RUN_TIME_DEFAULT);
    let steps = |nullable: bool| {
        json!({
            "type": if nullable { json!(["array", "null"]) } else { json!("array") },
            "minItems": 1,
            "maxItems": limits::MAX_STEPS,
            "items": reference("StepRequest")
        })
    };
    let triggers = json!({
        "type": ["array", "null"],
        "maxItems": limits::MAX_TRIGGERS,
        "items": reference("TriggerRequest")
    });
    let unique = "Unique in the project (409 otherwise).";
    let mut update_steps = steps(true);
    update_steps["description"] = json!("Replaces the step list.");
    let mut update_triggers = triggers.clone();
    update_triggers["description"] =
        json!("Replaces the trigger list (an empty list removes all triggers).");
    vec![
        (
            "ActionCreate".into(),
            json!({
                "type": "object",
                "description": "Body of POST /action. Unknown and server-owned fields are ignored.",
                "required": ["name", "steps"],
                "properties": {
                    "name": {"$ref": "#/components/schemas/Name", "description": unique},
                    "description": reference("Description"),
                    "isEnabled": {"type": ["boolean", "null"], "default": true},
                    "maxRunTime": create_max_run_time,
                    "retentionDays": retention_days,
                    "maxConcurrency": max_concurrency,
                    "concurrencyKey": concurrency_key,
                    "steps": steps(false),
                    "triggers": triggers
                }
            }),
        ),
        (
            "ActionUpdate".into(),
            json!({
                "type": "object",
                "description": "Body of PUT /action/{actionId}: every field optional; only given (non-null) fields change.",
                "properties": {
                    "name": {"anyOf": [{"type": "null"}, reference("Name")], "description": unique},
                    "description": reference("Description"),
                    "isEnabled": {"type": ["boolean", "null"]},
                    "maxRunTime": max_run_time,
                    "retentionDays": retention_days,
                    "maxConcurrency": max_concurrency,
                    "concurrencyKey": concurrency_key,
                    "steps": update_steps,
                    "triggers": update_triggers
                }
            }),
        ),
        (
            "BulkFilter".into(),
            bulk_filter(
                "Body of POST /actionexecution/rerun: which executions to re-run, newest first.",
                json!({"anyOf": [{"type": "null"}, reference("ExecutionStatus")], "description": "Only executions with this status."}),
            ),
        ),
        (
            "SecretPut".into(),
            json!({
                "type": "object",
                "description": "Body of PUT /secret/{name}: the secret's value. It is encrypted at rest and never returned.",
                "additionalProperties": false,
                "required": ["value"],
                "properties": {
                    "value": {
                        "type": "string",
                        "minLength": 1,
                        "pattern": NO_NUL_PATTERN,
                        "description": format!("The value: at most {} bytes of UTF-8, no NUL.", secrets::VALUE_MAX_BYTES)
                    }
                }
            }),
        ),
        (
            "CancelFilter".into(),
            bulk_filter(
                "Body of POST /actionexecution/cancel: which executions to cancel, newest first.",
                json!({"type": ["string", "null"], "enum": ["Queued", "Running", null], "description": "Only executions with this status; without it, both."}),
            ),
        ),
        (
            "ExecuteRequest".into(),
            json!({
                "type": "object",
                "description": "Optional body of POST /action/execute/{actionId}. Unknown fields are a 400 (a misspelt runAt must not start the execution at once). `runAt` or `delaySeconds` (not both) delays the start: the execution stays Queued until then.",
                "additionalProperties": false,
                "properties": {
                    "input": {
                        "anyOf": [reference("StorableJson")],
                        "description": "Any JSON value handed to the steps (null means no input); no NUL in any string or key, no number of 1e308 or more in magnitude."
                    },
                    "runAt": {
                        "type": ["string", "null"],
                        "format": "date-time",
                        "description": "Start no earlier than this RFC 3339 time, at most a year ahead; a past time starts at once."
                    },
                    "delaySeconds": {
                        "type": ["integer", "null"],
                        "minimum": 0,
                        "maximum": MAX_DELAY_SECONDS,
                        "description": "Start no earlier than this many seconds from now (at most a year)."
                    }
                },
                "not": {
                    "required": ["runAt", "delaySeconds"],
                    "properties": {"runAt": {"type": "string"}, "delaySeconds": {"type": "integer"}}
                }
            }),
        ),
    ]
}

/// The filter of a bulk action: at least one of actionId, status, since, until with a value
/// (a null counts as not given, as in every body).
fn bulk_filter(description: &str, status: serde_json::Value) -> serde_json::Value {
    let given = |field: &str, schema: serde_json::Value| json!({"required": [field], "properties": {field: schema}});
    json!({
        "type": "object",
        "description": format!("{description} At least one of actionId, status, since, until; unknown fields are a 400."),
        "additionalProperties": false,
        "anyOf": [
            given("actionId", json!({"type": "string"})),
            given("status", json!({"type": "string"})),
            given("since", json!({"type": "string"})),
            given("until", json!({"type": "string"}))
        ],
        "properties": {
            "actionId": {"anyOf": [{"type": "null"}, reference("Guid")], "description": "Only executions of this action."},
            "status": status,
            "since": {"type": ["string", "null"], "format": "date-time", "description": "Only executions queued at or after this time."},
            "until": {"type": ["string", "null"], "format": "date-time", "description": "Only executions queued before this time; after since."},
            "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": BULK_LIMIT, "default": BULK_LIMIT, "description": "Most executions to act on."}
        }
    })
}
