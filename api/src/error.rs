//! The one error type of the HTTP layer. Handlers return `Result<_, ApiError>` and use `?`;
//! this file decides every error's status and body. 5xx bodies are opaque: the cause is logged
//! here, never sent.

use crate::storage_gate::StorageDown;
use actuate_shared::domain::ids::{ActionId, ExecutionId};
use actuate_shared::domain::model::ExecutionStatus;
use actuate_shared::storage::StoreError;
use actuate_shared::vault::VaultError;
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::num::NonZeroU32;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Bad input; the message names the field and the problem.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("Action not found")]
    ActionNotFound(ActionId),
    #[error("Action can't create execution")]
    CannotExecute(ActionId),
    #[error("Execution not found")]
    ExecutionNotFound(ExecutionId),
    #[error("No execution found for this action")]
    NoExecutions(ActionId),
    #[error("Execution already finished")]
    AlreadyFinished(ExecutionId, ExecutionStatus),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request cannot be done in the server's or the project's present state (secrets
    /// off, too many secrets); the message says why.
    #[error("{0}")]
    Conflict(String),
    #[error("An action with this name already exists in the project")]
    NameTaken,
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// The database could not be reached: 503 with `Retry-After`, and the storage gate
    /// (`storage_gate.rs`) answers the next requests at once until it is back.
    #[error("storage unavailable")]
    StorageUnavailable(#[source] anyhow::Error),
    /// The tenant is over `ACTUATE_EXECUTE_RATE_LIMIT` (`rate_limit.rs`): 429 with
    /// `Retry-After`; nothing was written.
    #[error(
        "execute rate limit exceeded: at most {per_second} execute requests per second per tenant"
    )]
    RateLimited {
        per_second: NonZeroU32,
        /// Until the tenant's next execute request would be let through.
        retry_after: Duration,
    },
}

/// `Retry-After` of a rate-limited request: whole seconds (the header takes no fractions),
/// rounded up so that a client waiting that long is let through, and never 0, which clients
/// read as "at once" and would answer with an immediate retry.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// What `Retry-After` says while storage is unavailable: the gate probes four times as often.
pub const STORAGE_RETRY_AFTER_SECONDS: &str = "1";

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NameTaken => ApiError::NameTaken,
            e @ (StoreError::UnknownStep(_) | StoreError::UnknownTrigger(_)) => {
                ApiError::BadRequest(format!(
                    "{}: {e}",
                    if matches!(e, StoreError::UnknownStep(_)) {
                        "steps"
                    } else {
                        "triggers"
                    }
                ))
            }
            e if e.is_unavailable() => ApiError::StorageUnavailable(e.into()),
            e @ (StoreError::Database(_) | StoreError::Migrate(_)) => ApiError::Internal(e.into()),
        }
    }
}

impl From<VaultError> for ApiError {
    fn from(err: VaultError) -> Self {
        match err {
            e @ (VaultError::NotConfigured | VaultError::TooMany) => {
                ApiError::Conflict(e.to_string())
            }
            VaultError::Store(e) => e.into(),
            e @ (VaultError::Unreadable { .. } | VaultError::StillUnderOldKeys(_)) => {
                ApiError::Internal(e.into())
            }
        }
    }
}

impl ApiError {
    /// The status and JSON body this error answers; the OpenAPI document's examples are made
    /// by the same function, so they cannot drift from the answers.
    pub fn answer(&self) -> (StatusCode, Value) {
        let message = self.to_string();
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, json!({ "error": message })),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, json!({ "error": message })),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, json!({ "error": message })),
            ApiError::ActionNotFound(id)
            | ApiError::CannotExecute(id)
            | ApiError::NoExecutions(id) => (
                StatusCode::NOT_FOUND,
                json!({ "error": message, "actionId": id }),
            ),
            ApiError::ExecutionNotFound(id) => (
                StatusCode::NOT_FOUND,
                json!({ "error": message, "actionExecutionId": id }),
            ),
            ApiError::AlreadyFinished(id, status) => (
                StatusCode::CONFLICT,
                json!({ "error": message, "actionExecutionId": id, "status": status }),
            ),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, json!({ "error": message })),
            ApiError::MethodNotAllowed(_) => {
                (StatusCode::METHOD_NOT_ALLOWED, json!({ "error": message }))
            }
            ApiError::NameTaken => (StatusCode::CONFLICT, json!({ "Error": message })),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, json!({ "error": message })),
            ApiError::PayloadTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, json!({ "error": message }))
            }
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({ "error": message }),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": "internal server error" }),
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "error": "service unavailable" }),
            ),
            ApiError::StorageUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, json!({ "error": message }))
            }
            ApiError::RateLimited { retry_after, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                json!({ "error": message, "retryAfter": retry_after_seconds(*retry_after) }),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = self.answer();
        match &self {
            ApiError::Internal(cause) => tracing::error!(error = ?cause, "request failed"),
            ApiError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "dependency unavailable")
            }
            ApiError::StorageUnavailable(cause) => {
                tracing::warn!(error = %cause, "storage unavailable");
                let mut response = (
                    status,
                    [(header::RETRY_AFTER, STORAGE_RETRY_AFTER_SECONDS)],
                    Json(body),
                )
                    .into_response();
                response.extensions_mut().insert(StorageDown);
                return response;
            }
            ApiError::RateLimited { retry_after, .. } => {
                let seconds = retry_after_seconds(*retry_after).to_string();
                return (status, [(header::RETRY_AFTER, seconds)], Json(body)).into_response();
            }
            _ => {}
        }
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::retry_after_seconds;
    use std::time::Duration;

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_and_at_least_one() {
        let seconds = |ms| retry_after_seconds(Duration::from_millis(ms));
        assert_eq!(seconds(0), 1);
        assert_eq!(seconds(1), 1);
        assert_eq!(seconds(1000), 1);
        assert_eq!(seconds(1001), 2);
        assert_eq!(seconds(2500), 3);
    }
}
