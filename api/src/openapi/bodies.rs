//! Schemas of the request bodies: action create and update (`crate::requests`) and the
//! optional body of an execute.

use super::{Schemas, reference};
use crate::routes::BULK_LIMIT;
use actuate_shared::domain::draft::limits;
use actuate_shared::domain::policy::start::MAX_DELAY_SECONDS;
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
                    "steps": update_steps,
                    "triggers": update_triggers
                }
            }),
        ),
        (
            "BulkFilter".into(),
            json!({
                "type": "object",
                "description": "Body of POST /actionexecution/cancel and /actionexecution/rerun: which executions, newest first. At least one of actionId, status, since, until; unknown fields are a 400.",
                "additionalProperties": false,
                "anyOf": [
                    {"required": ["actionId"]},
                    {"required": ["status"]},
                    {"required": ["since"]},
                    {"required": ["until"]}
                ],
                "properties": {
                    "actionId": {"anyOf": [reference("Guid")], "description": "Only executions of this action."},
                    "status": {"anyOf": [reference("ExecutionStatus")], "description": "Only executions with this status (for a cancel: Queued or Running; without it, both)."},
                    "since": {"type": "string", "format": "date-time", "description": "Only executions queued at or after this time."},
                    "until": {"type": "string", "format": "date-time", "description": "Only executions queued before this time; after since."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": BULK_LIMIT, "default": BULK_LIMIT, "description": "Most executions to act on."}
                }
            }),
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
                        "description": "Any JSON value handed to the steps (null means no input); no NUL in any string or key."
                    },
                    "runAt": {
                        "type": "string",
                        "format": "date-time",
                        "description": "Start no earlier than this RFC 3339 time, at most a year ahead; a past time starts at once."
                    },
                    "delaySeconds": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": MAX_DELAY_SECONDS,
                        "description": "Start no earlier than this many seconds from now (at most a year)."
                    }
                },
                "not": {"required": ["runAt", "delaySeconds"]}
            }),
        ),
    ]
}
