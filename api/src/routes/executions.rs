//! Executions: `/action/execute/{actionId}` (GET documented, POST extension) and the
//! `/actionexecution...` history endpoints.

use super::{ping, unauthorized_ping};
use crate::error::ApiError;
use crate::extract::{
    ActionIdPath, Caller, EventNamePath, ExecutionIdPath, ObjectShape, OptionalJsonBody,
    QueryParams,
};
use crate::package;
use crate::startup::AppState;
use actuate_shared::ids::ActionId;
use actuate_shared::model::{Execution, ExecutionDetail, ExecutionStatus, TriggerKind};
use actuate_shared::names::EventName;
use actuate_shared::storable;
use actuate_shared::storage::{CancelOutcome, ExecuteOutcome, ExecutionFilter, NewExecution};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const ACTION: &str = "/api/{tenantId}/{projectId}/action";
const BASE: &str = "/api/{tenantId}/{projectId}/actionexecution";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{ACTION}/execute/{{actionId}}"),
            get(execute_get).post(execute_post),
        )
        .route(&format!("{ACTION}/event/{{eventName}}"), post(raise_event))
        .route(&format!("{BASE}/ping"), get(ping))
        .route(&format!("{BASE}/unauthorized-ping"), get(unauthorized_ping))
        .route(&format!("{BASE}/{{actionExecutionId}}"), get(fetch))
        .route(
            &format!("{BASE}/{{actionExecutionId}}/cancel"),
            post(cancel),
        )
        .route(&format!("{BASE}/action/{{actionId}}"), get(list))
        .route(&format!("{BASE}/lastaction/{{actionId}}"), get(last))
        .route(
            &format!("{BASE}/downloadpackage/{{actionExecutionId}}"),
            get(download),
        )
}

/// The optional body of `POST /action/execute/{actionId}`.
#[derive(Debug, Deserialize)]
struct ExecuteRequest {
    input: Option<Value>,
}

impl ObjectShape for ExecuteRequest {}

/// An execution's input (`null` is none); NUL cannot be stored, so it is refused by path.
fn storable_input(input: Option<Value>, root: &str) -> Result<Option<Value>, ApiError> {
    let input = input.filter(|v| !v.is_null());
    if let Some(path) = input.as_ref().and_then(|v| storable::find_nul(v, root)) {
        return Err(ApiError::BadRequest(format!(
            "{path}: must not contain NUL characters (\\u0000)"
        )));
    }
    Ok(input)
}

const IDEMPOTENCY_KEY_MAX: usize = 255;

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_MAX)
        .filter(|k| k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Idempotency-Key: must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters"
            ))
        })?;
    Ok(Some(key.to_string()))
}

async fn execute_get(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Execution>, ApiError> {
    execute(&state, caller, action_id, &headers, None).await
}

async fn execute_post(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
    headers: HeaderMap,
    OptionalJsonBody(body): OptionalJsonBody<ExecuteRequest>,
) -> Result<Json<Execution>, ApiError> {
    let input = storable_input(body.and_then(|b| b.input), "input")?;
    execute(&state, caller, action_id, &headers, input).await
}

/// Answers 200 only once the execution and its outbox row are committed; the relay publishes
/// it afterwards, so a broker outage never fails or slows an execute.
async fn execute(
    state: &AppState,
    caller: Caller,
    action_id: ActionId,
    headers: &HeaderMap,
    input: Option<Value>,
) -> Result<Json<Execution>, ApiError> {
    let request = NewExecution {
        trigger: TriggerKind::Manual,
        input,
        idempotency_key: idempotency_key(headers)?,
    };
    match state
        .store
        .create_execution(caller.scope, action_id, request)
        .await?
    {
        ExecuteOutcome::Created(execution) => {
            state.relay.wake();
            metrics::counter!("actuate_executions_created_total", "trigger" => "manual")
                .increment(1);
            tracing::info!(
                %action_id,
                execution_id = %execution.action_execution_id,
                tenant_id = %caller.scope.tenant_id,
                "execution queued"
            );
            Ok(Json(execution))
        }
        ExecuteOutcome::Existing(execution) => Ok(Json(execution)),
        ExecuteOutcome::ActionNotFound => Err(ApiError::ActionNotFound(action_id)),
        ExecuteOutcome::ActionDisabled => Err(ApiError::CannotExecute(action_id)),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventExecutions {
    event_name: EventName,
    items: Vec<Execution>,
}

/// The body of `POST /action/event/{eventName}` is the executions' input as it is.
async fn raise_event(
    caller: Caller,
    EventNamePath(event_name): EventNamePath,
    State(state): State<AppState>,
    headers: HeaderMap,
    OptionalJsonBody(input): OptionalJsonBody<Value>,
) -> Result<Json<EventExecutions>, ApiError> {
    let key = idempotency_key(&headers)?;
    let input = storable_input(input, "body")?;
    let items = state
        .store
        .raise_event(caller.scope, &event_name, input, key)
        .await?;
    if !items.is_empty() {
        state.relay.wake();
        metrics::counter!("actuate_executions_created_total", "trigger" => "event")
            .increment(items.len() as u64);
    }
    tracing::info!(event_name = %event_name, executions = items.len(), "event raised");
    Ok(Json(EventExecutions { event_name, items }))
}

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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
    offset: Option<i64>,
    status: Option<String>,
}

const LIST_LIMIT_MAX: i64 = 1000;

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

#[derive(Serialize)]
struct ExecutionList {
    items: Vec<Execution>,
}

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
