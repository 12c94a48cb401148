//! Error bodies and the reusable error responses. Every example is the body
//! [`ApiError::answer`] gives for that error, so the document shows exactly what is sent.

use super::{Schemas, reference};
use crate::error::{ApiError, STORAGE_RETRY_AFTER_SECONDS};
use crate::extract::BODY_LIMIT;
use actuate_shared::domain::ids::{ActionId, ExecutionId};
use actuate_shared::domain::model::ExecutionStatus;
use actuate_shared::vault::VaultError;
use serde_json::{Map, Value, json};
use std::num::NonZeroU32;
use std::time::Duration;
use uuid::Uuid;

fn example_action() -> ActionId {
    ActionId(Uuid::from_u128(0xaaaaaaaa_bbbb_cccc_dddd_eeeeeeeeeeee))
}

fn example_execution() -> ExecutionId {
    ExecutionId(Uuid::from_u128(0xbbbbbbbb_cccc_dddd_eeee_ffffffffffff))
}

fn rate_limited() -> ApiError {
    ApiError::RateLimited {
        per_second: NonZeroU32::new(10).expect("not zero"),
        retry_after: Duration::from_millis(100),
    }
}

pub fn schemas() -> Schemas {
    let uuid = json!({"type": "string", "format": "uuid"});
    let action_errors = [
        ApiError::ActionNotFound(example_action()),
        ApiError::CannotExecute(example_action()),
        ApiError::NoExecutions(example_action()),
    ]
    .map(|e| e.to_string());
    vec![
        (
            "Health".into(),
            json!({
                "type": "object",
                "required": ["status"],
                "properties": {"status": {"type": "string", "const": "ok"}}
            }),
        ),
        (
            "Readiness".into(),
            json!({
                "type": "object",
                "required": ["status", "database", "broker"],
                "properties": {
                    "status": {"type": "string", "const": "ready"},
                    "database": {"type": "string", "const": "ok"},
                    "broker": {"type": "string", "enum": ["ok", "unreachable"]}
                }
            }),
        ),
        (
            "Error".into(),
            json!({
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "string",
                        "description": "What went wrong, naming the field where there is one."
                    }
                }
            }),
        ),
        (
            "ConflictError".into(),
            json!({
                "type": "object",
                "description": "The documented duplicate-name body (capital `E`).",
                "required": ["Error"],
                "properties": {"Error": {"type": "string", "const": ApiError::NameTaken.to_string()}}
            }),
        ),
        (
            "ActionNotFoundError".into(),
            json!({
                "type": "object",
                "description": "A 404 about an action.",
                "required": ["error", "actionId"],
                "properties": {
                    "error": {"type": "string", "enum": action_errors},
                    "actionId": uuid
                }
            }),
        ),
        (
            "RerunNotFoundError".into(),
            json!({
                "description": "A 404 of a re-run: no such execution, or its action is gone or disabled.",
                "anyOf": [reference("ExecutionNotFoundError"), reference("ActionNotFoundError")]
            }),
        ),
        (
            "ExecutionNotFoundError".into(),
            json!({
                "type": "object",
                "required": ["error", "actionExecutionId"],
                "properties": {
                    "error": {
                        "type": "string",
                        "const": ApiError::ExecutionNotFound(example_execution()).to_string()
                    },
                    "actionExecutionId": uuid
                }
            }),
        ),
        (
            "ExecutionFinishedError".into(),
            json!({
                "type": "object",
                "required": ["error", "actionExecutionId", "status"],
                "properties": {
                    "error": {
                        "type": "string",
                        "const": finished().to_string()
                    },
                    "actionExecutionId": uuid,
                    "status": reference("ExecutionStatus")
                }
            }),
        ),
        (
            "RateLimitedError".into(),
            json!({
                "type": "object",
                "required": ["error", "retryAfter"],
                "properties": {
                    "error": {
                        "type": "string",
                        "description": format!("Names the limit, e.g. `{}`.", rate_limited()),
                    },
                    "retryAfter": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "Seconds to wait before retrying, as in `Retry-After`."
                    }
                }
            }),
        ),
    ]
}

fn finished() -> ApiError {
    ApiError::AlreadyFinished(example_execution(), ExecutionStatus::Completed)
}

/// A response with a JSON body of `schema`, and one example per error.
fn error(description: &str, schema: &str, examples: &[(&str, ApiError)]) -> Value {
    let mut content = json!({"schema": reference(schema)});
    match examples {
        [(_, only)] => content["example"] = only.answer().1,
        many => {
            content["examples"] = many
                .iter()
                .map(|(name, e)| (name.to_string(), json!({"value": e.answer().1})))
                .collect::<Map<_, _>>()
                .into()
        }
    }
    json!({"description": description, "content": {"application/json": content}})
}

/// `(name, status, response)` of every reusable response.
pub fn responses() -> Vec<(&'static str, u16, Value)> {
    let bad = |s: &str| ApiError::BadRequest(s.into());
    let mut unavailable = error(
        "The database cannot be reached: nothing was read or changed. Retry after the time given.",
        "Error",
        &[("", ApiError::StorageUnavailable(anyhow::anyhow!("example")))],
    );
    unavailable["headers"] = json!({
        "Retry-After": {
            "description": format!("Seconds to wait before retrying (`{STORAGE_RETRY_AFTER_SECONDS}`)."),
            "schema": {"type": "integer"}
        }
    });
    let mut limited = error(
        "The tenant made more execute requests than `ACTUATE_EXECUTE_RATE_LIMIT` allows (when the server sets one): nothing was created. Retry after the time given.",
        "RateLimitedError",
        &[("", rate_limited())],
    );
    limited["headers"] = json!({
        "Retry-After": {
            "description": "Whole seconds (at least 1) until this tenant's next execute request is let through.",
            "schema": {"type": "integer", "minimum": 1}
        }
    });
    vec![
        (
            "BadRequest",
            400,
            error(
                "Bad input: a path id that is not a GUID, malformed JSON, a wrong type or an invalid value; the message names the field.",
                "Error",
                &[("", bad("actionId 'x' is not a GUID"))],
            ),
        ),
        (
            "Unauthorized",
            401,
            error(
                "Missing, malformed, unknown or revoked token.",
                "Error",
                &[("", ApiError::Unauthorized("missing Authorization header"))],
            ),
        ),
        (
            "Forbidden",
            403,
            error(
                "The API key does not belong to the tenant (or project) in the path.",
                "Error",
                &[(
                    "",
                    ApiError::Forbidden("this API key does not belong to this tenant"),
                )],
            ),
        ),
        (
            "PayloadTooLarge",
            413,
            error(
                &format!(
                    "The request body is over {} MiB.",
                    BODY_LIMIT / (1024 * 1024)
                ),
                "Error",
                &[("", ApiError::PayloadTooLarge { limit: BODY_LIMIT })],
            ),
        ),
        (
            "UnsupportedMediaType",
            415,
            error(
                "A body that is not `application/json`.",
                "Error",
                &[(
                    "",
                    ApiError::UnsupportedMediaType(
                        "expected Content-Type: application/json, got 'text/plain'".into(),
                    ),
                )],
            ),
        ),
        (
            "InternalError",
            500,
            error(
                "Internal error (opaque).",
                "Error",
                &[("", ApiError::Internal(anyhow::anyhow!("example")))],
            ),
        ),
        ("StorageUnavailable", 503, unavailable),
        (
            "NameConflict",
            409,
            error(
                "An action with this name already exists in the project.",
                "ConflictError",
                &[("", ApiError::NameTaken)],
            ),
        ),
        (
            "ActionNotFound",
            404,
            error(
                "No such action in this tenant and project.",
                "ActionNotFoundError",
                &[("", ApiError::ActionNotFound(example_action()))],
            ),
        ),
        (
            "ActionNotFoundOrCannotExecute",
            404,
            error(
                "No such action (`Action not found`), or the action is disabled (`Action can't create execution`).",
                "ActionNotFoundError",
                &[
                    ("notFound", ApiError::ActionNotFound(example_action())),
                    ("cannotExecute", ApiError::CannotExecute(example_action())),
                ],
            ),
        ),
        (
            "ActionNotFoundOrNoExecutions",
            404,
            error(
                "No such action (`Action not found`), or it has no execution (`No execution found for this action`).",
                "ActionNotFoundError",
                &[
                    ("notFound", ApiError::ActionNotFound(example_action())),
                    ("noExecutions", ApiError::NoExecutions(example_action())),
                ],
            ),
        ),
        (
            "ExecutionNotFound",
            404,
            error(
                "No such execution in this tenant and project.",
                "ExecutionNotFoundError",
                &[("", ApiError::ExecutionNotFound(example_execution()))],
            ),
        ),
        (
            "RerunNotFound",
            404,
            error(
                "No such execution (`Execution not found`), or its action was deleted (`Action not found`) or is disabled (`Action can't create execution`).",
                "RerunNotFoundError",
                &[
                    (
                        "executionNotFound",
                        ApiError::ExecutionNotFound(example_execution()),
                    ),
                    ("actionNotFound", ApiError::ActionNotFound(example_action())),
                    ("cannotExecute", ApiError::CannotExecute(example_action())),
                ],
            ),
        ),
        (
            "ExecutionAlreadyFinished",
            409,
            error(
                "The execution already reached Completed or Failed.",
                "ExecutionFinishedError",
                &[("", finished())],
            ),
        ),
        ("RateLimited", 429, limited),
        (
            "SecretNotFound",
            404,
            error(
                "No secret of that name in the project.",
                "Error",
                &[("", ApiError::NotFound("secret API_TOKEN not found".into()))],
            ),
        ),
        (
            "SecretsOff",
            409,
            error(
                "Secrets are off on this server (no `ACTUATE_SECRETS_KEY`), or the project holds the most secrets it may.",
                "Error",
                &[
                    ("notConfigured", VaultError::NotConfigured.into()),
                    ("tooMany", VaultError::TooMany.into()),
                ],
            ),
        ),
    ]
}
