//! Reading and cancelling executions: the `/actionexecution...` endpoints.

use crate::error::ApiError;
use crate::extract::{ActionIdPath, Caller, ExecutionIdPath, QueryParams};
use crate::openapi::markers::{
    ActionNotFound, ActionNotFoundOrNoExecutions, ExecutionAlreadyFinished, ExecutionNotFound,
};
use crate::package;
use crate::startup::AppState;
use actuate_shared::domain::model::{Execution, ExecutionDetail, ExecutionStatus};
use actuate_shared::storage::{CancelOutcome, ExecutionFilter};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ping))
        .routes(routes!(unauthorized_ping))
        .routes(routes!(fetch))
        .routes(routes!(cancel))
        .routes(routes!(list))
        .routes(routes!(last))
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

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    limit: Option<i64>,
    offset: Option<i64>,
    status: Option<String>,
}

pub const LIST_LIMIT_MAX: i64 = 1000;

impl ListQuery {
    fn filter(self) -> Result<ExecutionFilter, ApiError> {
        let limit = self.limit.unwrap_or(LIST_LIMIT_MAX);
        if !(1..=LIST_LIMIT_MAX).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "limit: must be between 1 and {LIST_LIMIT_MAX}"
            )));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(ApiError::BadRequest("offset: must not be negative".into()));
        }
        let status = self
            .status
            .map(|s| s.parse::<ExecutionStatus>())
            .transpose()
            .map_err(|e| ApiError::BadRequest(format!("status: {e}")))?;
        Ok(ExecutionFilter {
            limit,
            offset,
            status,
        })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct ExecutionList {
    items: Vec<Execution>,
}

/// List the executions of an action, newest first
///
/// Executions of a deleted action stay listed; an action id that never had any execution and
/// does not exist is a 404. Unknown query parameters are a 400.
#[utoipa::path(
    get, path = "/api/{tenantId}/{projectId}/actionexecution/action/{actionId}",
    operation_id = "listExecutions", tag = "Executions", security(("bearerAuth" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "The executions, newest first.", body = ExecutionList),
        (status = 404, response = ActionNotFound),
    )
)]
async fn list(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ExecutionList>, ApiError> {
    let filter = query.filter()?;
    let items = state
        .store
        .list_executions(caller.scope, action_id, filter)
        .await?;
    // Executions of a deleted action stay listed; only an id that never had any is a 404.
    if items.is_empty()
        && state
            .store
            .get_action(caller.scope, action_id)
            .await?
            .is_none()
    {
        return Err(ApiError::ActionNotFound(action_id));
    }
    Ok(Json(ExecutionList { items }))
}

/// Get the newest execution of an action
#[utoipa::path(
    get, path = "/api/{tenantId}/{projectId}/actionexecution/lastaction/{actionId}",
    operation_id = "getLastExecution", tag = "Executions", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The newest execution.", body = Execution),
        (status = 404, response = ActionNotFoundOrNoExecutions),
    )
)]
async fn last(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
) -> Result<Json<Execution>, ApiError> {
    let filter = ExecutionFilter {
        limit: 1,
        ..ExecutionFilter::default()
    };
    let newest = state
        .store
        .list_executions(caller.scope, action_id, filter)
        .await?
        .pop();
    match newest {
        Some(execution) => Ok(Json(execution)),
        None if state
            .store
            .get_action(caller.scope, action_id)
            .await?
            .is_none() =>
        {
            Err(ApiError::ActionNotFound(action_id))
        }
        None => Err(ApiError::NoExecutions(action_id)),
    }
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
    match state
        .store
        .cancel_execution(caller.scope, execution_id)
        .await?
    {
        CancelOutcome::Cancelled(execution) => {
            tracing::info!(%execution_id, tenant_id = %caller.scope.tenant_id, "execution cancelled");
            Ok(Json(execution))
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
