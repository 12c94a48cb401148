//! The reusable parameters. Path parameters are taken from each route's template; query and
//! header parameters a handler declares are replaced by the component of the same name, so
//! every operation states them the same way (see `super::policy`).

use super::reference;
use super::values::{NAME_PATTERN, end};
use crate::routes::IDEMPOTENCY_KEY_MAX;
use actuate_shared::domain::audit::AuditAction;
use actuate_shared::domain::draft::limits;
use actuate_shared::domain::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use actuate_shared::domain::secrets;
use actuate_shared::storage::IDEMPOTENCY_WINDOW_HOURS;
use serde_json::{Value, json};

/// `(component name, in, name, parameter)` of every reusable parameter.
pub fn parameters() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    let path = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "path", "required": true, "description": description, "schema": schema});
    let query = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    vec![
        (
            "TenantId",
            "path",
            "tenantId",
            path(
                "tenantId",
                "Tenant id (GUID); must be the API key's tenant.",
                reference("Guid"),
            ),
        ),
        (
            "ProjectId",
            "path",
            "projectId",
            path(
                "projectId",
                "Project id (GUID); must be the API key's project for a project-scoped key.",
                reference("Guid"),
            ),
        ),
        (
            "ActionId",
            "path",
            "actionId",
            path("actionId", "Action id (GUID).", reference("Guid")),
        ),
        (
            "ActionExecutionId",
            "path",
            "actionExecutionId",
            path(
                "actionExecutionId",
                "Execution id (GUID).",
                reference("Guid"),
            ),
        ),
        (
            "SecretName",
            "path",
            "name",
            path(
                "name",
                "A secret's name: a letter or `_`, then letters, digits or `_`.",
                json!({
                    "type": "string",
                    "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                    "minLength": 1,
                    "maxLength": secrets::NAME_MAX_CHARS
                }),
            ),
        ),
        (
            "EventName",
            "path",
            "eventName",
            path(
                "eventName",
                &format!(
                    "Event name, matched exactly as given: the rules of a name (1 to {} characters, not blank, no control or bidirectional formatting characters).",
                    limits::EVENT_NAME_MAX_CHARS
                ),
                json!({
                    "type": "string",
                    "minLength": 1,
                    "maxLength": limits::EVENT_NAME_MAX_CHARS,
                    "pattern": NAME_PATTERN
                }),
            ),
        ),
        (
            "IdempotencyKey",
            "header",
            "Idempotency-Key",
            json!({
                "name": "Idempotency-Key",
                "in": "header",
                "required": false,
                "description": format!(
                    "1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters. Repeated within {IDEMPOTENCY_WINDOW_HOURS} hours it answers the first result instead of creating new executions."
                ),
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": IDEMPOTENCY_KEY_MAX,
                    "pattern": concat!("^[!-~]+", end!())
                }
            }),
        ),
        (
            "Limit",
            "query",
            "limit",
            query(
                "limit",
                &format!(
                    "Most items to answer in this page: by default {DEFAULT_PAGE_SIZE} executions, or {MAX_PAGE_SIZE} actions."
                ),
                json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}),
            ),
        ),
        (
            "Offset",
            "query",
            "offset",
            query(
                "offset",
                "Items to skip (kept for older callers; `cursor` pages without skipping or repeating items as new ones arrive). Not with `cursor`.",
                json!({"type": "integer", "minimum": 0, "default": 0, "maximum": i64::MAX}),
            ),
        ),
        (
            "Cursor",
            "query",
            "cursor",
            query(
                "cursor",
                "Where the page starts: `nextCursor` of the previous page, as given.",
                json!({"type": "string", "minLength": 1}),
            ),
        ),
        (
            "TriggerFilter",
            "query",
            "trigger",
            query(
                "trigger",
                "Only executions created this way.",
                reference("TriggerKind"),
            ),
        ),
        (
            "Since",
            "query",
            "since",
            query(
                "since",
                "Only items at or after this time (RFC 3339): executions by when they were queued, audit entries by when they were recorded.",
                json!({"type": "string", "format": "date-time"}),
            ),
        ),
        (
            "Until",
            "query",
            "until",
            query(
                "until",
                "Only items before this time (RFC 3339); after `since`.",
                json!({"type": "string", "format": "date-time"}),
            ),
        ),
        (
            "ActionIdFilter",
            "query",
            "actionId",
            query(
                "actionId",
                "Only executions of this action (GUID).",
                reference("Guid"),
            ),
        ),
        (
            "TargetIdFilter",
            "query",
            "targetId",
            query(
                "targetId",
                "Only entries about this target: an action or execution id, a key id, a secret's or an event's name.",
                json!({"type": "string", "minLength": 1, "maxLength": crate::routes::TARGET_ID_MAX_CHARS}),
            ),
        ),
        (
            "AuditActionFilter",
            "query",
            "action",
            query(
                "action",
                "Only entries of this kind of change.",
                json!({"type": "string", "enum": AuditAction::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>()}),
            ),
        ),
        (
            "StatusFilter",
            "query",
            "status",
            query(
                "status",
                "Only executions with this status.",
                reference("ExecutionStatus"),
            ),
        ),
    ]
}

/// A path parameter of a route that checks no ids (the unauthenticated pings).
pub fn unchecked(name: &str) -> Value {
    let what = match name {
        "tenantId" => "Tenant",
        "projectId" => "Project",
        _ => "Path",
    };
    json!({
        "name": name,
        "in": "path",
        "required": true,
        "description": format!("{what} id (not checked on this route)."),
        "schema": {"type": "string"}
    })
}
