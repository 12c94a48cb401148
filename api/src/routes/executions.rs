//! Reading one execution, cancelling it, downloading its package: `/actionexecution/{id}...`
//! (the lists are in `history.rs`).

use crate::audit;
use crate::error::ApiError;
use crate::extract::{Caller, ExecutionIdPath};
use crate::openapi::markers::{ExecutionAlreadyFinished, ExecutionNotFound};
use crate::package;
use crate::startup::AppState;
use actuate_shared::domain::audit::AuditAction;
use actuate_shared::domain::model::{Execution, ExecutionDetail};
use actuate_shared::storage::CancelOutcome;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ping))
        .routes(routes!(unauthorized_ping))
        .routes(routes!(fetch))
        .routes(routes!(cancel))
        .routes(routes!(download))
}

/// Check the service and the caller's API key
#[utoipa::path(
    get, path = "/api/{tenantId}/{projectId}/actionexecution/ping",
    operation_id = "pingActionExecution", tag = "Pings", security(("bearerAuth" = [])),
    responses((status = 200, description = "`Ping Successful (tenant id: {tenantId})`.",
        body = String, example = "Ping Successful (tenant id: 12345678-1234-1234-1234-123456789012)"))
)]
async fn ping(caller: Caller) -> String {
    super::ping(caller).await
}

/// Check the service without a token
///
/// No token is needed and the path ids are not checked.
#[utoipa::path(
    get, path = "/api/{tenantId}/{projectId}/actionexecution/unauthorized-ping",
    operation_id = "unauthorizedPingActionExecution", tag = "Pings",
    responses((status = 200, description = "`Ping Successful`.", body = String,
        example = "Ping Successful"))
)]
async fn unauthorized_ping() -> &'static str {
    super::unauthorized_ping().await
}

/// Get one execution with its steps
#[utoipa::path(
    get, path = "/api/{tenantId}/{projectId}/actionexecution/{actionExecutionId}",
    operation_id = "getExecution", tag = "Executions", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The execution, with the extension fields.", body = ExecutionDetail),
        (status = 404, response = ExecutionNotFound),
    )
)]
async fn fetch(
    caller: Caller,
    ExecutionIdPath(execution_id): ExecutionIdPath,
    State(state): State<AppState>,
) -> Result<Json<ExecutionDetail>, ApiError> {
    state
        .store
        .get_execution(caller.scope, execution_id)
        .await?
        .map(Json)
        .ok_or(ApiError::ExecutionNotFound(execution_id))
}

/// Cancel a queued or running execution (extension)
#[utoipa::path(
    post, path = "/api/{tenantId}/{projectId}/actionexecution/{actionExecutionId}/cancel",
    operation_id = "cancelExecution", tag = "Executions", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The cancelled execution: `Failed`, with notes saying it was cancelled.", body = Execution),
        (status = 404, response = ExecutionNotFound),
        (status = 409, response = ExecutionAlreadyFinished),
    )
)]
async fn cancel(
    caller: Caller,
    ExecutionIdPath(execution_id): ExecutionIdPath,
    State(state): State<AppState>,
) -> Result<Json<Execution>, ApiError> {
    cancel_execution(&state, caller, execution_id)
        .await
        .map(Json)
}

/// Cancels the execution and records it in the audit log (the API's and the dashboard's).
pub(crate) async fn cancel_execution(
    state: &AppState,
    caller: Caller,
    execution_id: actuate_shared::domain::ids::ExecutionId,
) -> Result<Execution, ApiError> {
    match state
        .store
        .cancel_execution(caller.scope, execution_id)
        .await?
    {
        CancelOutcome::Cancelled(execution) => {
            tracing::info!(%execution_id, tenant_id = %caller.scope.tenant_id, "execution cancelled");
            audit::record(
                &*state.store,
                caller.audit(AuditAction::Cancel, execution_id.to_string(), "cancelled"),
            )
            .await;
            Ok(execution)
        }
        CancelOutcome::AlreadyFinished(execution) => {
            Err(ApiError::AlreadyFinished(execution_id, execution.status))
        }
        CancelOutcome::NotFound => Err(ApiError::ExecutionNotFound(execution_id)),
    }
}

/// Download an execution's package
#[utoipa::path(
    get, path = "/api/{tenantId}/{projectId}/actionexecution/downloadpackage/{actionExecutionId}",
    operation_id = "downloadExecutionPackage", tag = "Executions", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "A zip archive: `execution.json` and, per step, `output.json`, `log.txt` and `error.txt`.",
            content_type = "application/zip", body = String,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"execution-{actionExecutionId}.zip\"`"))),
        (status = 404, response = ExecutionNotFound),
    )
)]
async fn download(
    caller: Caller,
    ExecutionIdPath(execution_id): ExecutionIdPath,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let detail = state
        .store
        .get_execution(caller.scope, execution_id)
        .await?
        .ok_or(ApiError::ExecutionNotFound(execution_id))?;
    let zip = package::build(&detail).map_err(|e| ApiError::Internal(e.into()))?;
    let disposition = format!("attachment; filename=\"execution-{execution_id}.zip\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).map_err(|e| ApiError::Internal(e.into()))?,
            ),
        ],
        zip,
    )
        .into_response())
}
