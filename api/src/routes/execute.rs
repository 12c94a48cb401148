//! Creating executions: `/action/execute/{actionId}` (GET documented, POST extension) and
//! `/action/event/{eventName}`. Each request counts once against the tenant's execute rate
//! limit (`crate::rate_limit`), checked after authentication and validation and before the
//! store is written: a refused request leaves nothing behind.

use crate::audit;
use crate::error::ApiError;
use crate::extract::{ActionIdPath, Caller, EventNamePath, ObjectShape, OptionalJsonBody};
use crate::openapi::markers::{
    ActionNotFoundOrCannotExecute, ExecuteRequest as ExecuteBody, RateLimited, StorableJson,
};
use crate::startup::AppState;
use actuate_shared::domain::audit::AuditAction;
use actuate_shared::domain::ids::ActionId;
use actuate_shared::domain::model::{Execution, TriggerKind};
use actuate_shared::domain::names::EventName;
use actuate_shared::domain::policy::start;
use actuate_shared::domain::storable;
use actuate_shared::storage::{ExecuteOutcome, NewExecution};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(execute_get, execute_post))
        .routes(routes!(raise_event))
}

/// The optional body of `POST /action/execute/{actionId}`.
/// Unknown fields are a 400: a misspelt `runAt` or `delaySeconds` must not start the execution
/// at once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ExecuteRequest {
    input: Option<Value>,
    /// Start no earlier than this (RFC 3339).
    run_at: Option<String>,
    /// Start no earlier than this many seconds from now.
    #[serde(default, deserialize_with = "crate::requests::integer")]
    delay_seconds: Option<i64>,
}

impl ExecuteRequest {
    /// When the execution may start (`None`: at once); a 400 naming the field otherwise.
    fn not_before(&self) -> Result<Option<DateTime<Utc>>, ApiError> {
        let run_at = self
            .run_at
            .as_deref()
            .map(super::history::time)
            .transpose()
            .map_err(|e| ApiError::BadRequest(format!("runAt: {e}")))?;
        start::not_before(run_at, self.delay_seconds, Utc::now())
            .map_err(|(field, problem)| ApiError::BadRequest(format!("{field}: {problem}")))
    }
}

impl ObjectShape for ExecuteRequest {}

/// An execution's input (`null` is none); what cannot be stored (NUL, a number past 1e308) is
/// refused by path.
pub(crate) fn storable_input(input: Option<Value>, root: &str) -> Result<Option<Value>, ApiError> {
    let input = input.filter(|v| !v.is_null());
    if let Some((path, problem)) = input
        .as_ref()
        .and_then(|v| storable::find_unstorable(v, root))
    {
        return Err(ApiError::BadRequest(format!(
            "{path}: {}",
            problem.describe()
        )));
    }
    Ok(input)
}

pub const IDEMPOTENCY_KEY_MAX: usize = 255;

pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
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

/// Execute an action
///
/// Creates a new execution (status `Queued`) and answers once it is durably recorded. A
/// disabled action answers 404 `Action can't create execution`. With an `Idempotency-Key`
/// repeated for the same action within 24 hours, the first execution is answered instead of a
/// new one.
#[utoipa::path(
    get, path = "/api/{tenantId}/{projectId}/action/execute/{actionId}",
    operation_id = "executeAction", tag = "Executions", security(("bearerAuth" = [])),
    params(("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 200, description = "The queued execution (or the first one for a repeated Idempotency-Key).", body = Execution),
        (status = 404, response = ActionNotFoundOrCannotExecute),
        (status = 429, response = RateLimited),
    )
)]
async fn execute_get(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Execution>, ApiError> {
    execute(&state, caller, action_id, &headers, None, None).await
}

/// Execute an action with input (extension)
///
/// Creates a new execution (status `Queued`) and answers once it is durably recorded. A
/// disabled action answers 404 `Action can't create execution`. With an `Idempotency-Key`
/// repeated for the same action within 24 hours, the first execution is answered instead of a
/// new one.
/// An optional JSON body `{"input": ...}` is handed to the steps; an empty body is allowed.
/// With `runAt` (an RFC 3339 time) or `delaySeconds`, the execution stays `Queued` until then
/// (at most a year ahead; a past time starts at once) and can be cancelled meanwhile.
#[utoipa::path(
    post, path = "/api/{tenantId}/{projectId}/action/execute/{actionId}",
    operation_id = "executeActionWithInput", tag = "Executions", security(("bearerAuth" = [])),
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = Option<ExecuteBody>,
    responses(
        (status = 200, description = "The queued execution (or the first one for a repeated Idempotency-Key).", body = Execution),
        (status = 404, response = ActionNotFoundOrCannotExecute),
        (status = 429, response = RateLimited),
    )
)]
async fn execute_post(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
    headers: HeaderMap,
    OptionalJsonBody(body): OptionalJsonBody<ExecuteRequest>,
) -> Result<Json<Execution>, ApiError> {
    let (input, run_at) = match body {
        Some(body) => {
            let run_at = body.not_before()?;
            (storable_input(body.input, "input")?, run_at)
        }
        None => (None, None),
    };
    execute(&state, caller, action_id, &headers, input, run_at).await
}

/// Answers 200 only once the execution and its outbox row are committed; the relay publishes
/// it afterwards, so a broker outage never fails or slows an execute.
pub(crate) async fn execute(
    state: &AppState,
    caller: Caller,
    action_id: ActionId,
    headers: &HeaderMap,
    input: Option<Value>,
    run_at: Option<DateTime<Utc>>,
) -> Result<Json<Execution>, ApiError> {
    let summary = match run_at {
        Some(at) => format!(
            "executed action {action_id}, to start at {}",
            at.to_rfc3339()
        ),
        None => format!("executed action {action_id}"),
    };
    let request = NewExecution {
        idempotency_key: idempotency_key(headers)?,
        run_at,
        // Written with the execution, in its statement.
        audit: Some(caller.audit_execution(AuditAction::Execute, summary)),
        ..NewExecution::new(TriggerKind::Manual, input)
    };
    state.execute_limiter.check(caller.scope.tenant_id)?;
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

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct EventExecutions {
    #[schema(value_type = String)]
    event_name: EventName,
    items: Vec<Execution>,
}

/// Raise an event (extension)
///
/// Creates an execution for every enabled action of the project with an `EventTrigger` of this
/// name. The request's JSON body, as it is, becomes the executions' `input`; an empty body
/// means no input. An `Idempotency-Key` repeated within 24 hours answers the same executions.
#[utoipa::path(
    post, path = "/api/{tenantId}/{projectId}/action/event/{eventName}",
    operation_id = "raiseEvent", tag = "Executions", security(("bearerAuth" = [])),
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<StorableJson>, content_type = "application/json",
        description = "Any JSON value: the executions' input; no NUL in any string or key, no number of 1e308 or more in magnitude."),
    responses(
        (status = 200, description = "The executions created, one per enabled action with a matching EventTrigger (possibly none).", body = EventExecutions),
        (status = 429, response = RateLimited),
    )
)]
async fn raise_event(
    caller: Caller,
    EventNamePath(event_name): EventNamePath,
    State(state): State<AppState>,
    headers: HeaderMap,
    OptionalJsonBody(input): OptionalJsonBody<Value>,
) -> Result<Json<EventExecutions>, ApiError> {
    let key = idempotency_key(&headers)?;
    let input = storable_input(input, "body")?;
    // One request, however many executions it creates: the limit bounds the calls a tenant
    // makes, while how many actions an event reaches is the tenant's own configuration.
    state.execute_limiter.check(caller.scope.tenant_id)?;
    let raised = state
        .store
        .raise_event(caller.scope, &event_name, input, key)
        .await?;
    let items = raised.executions;
    if !raised.created.is_empty() {
        state.relay.wake();
        metrics::counter!("actuate_executions_created_total", "trigger" => "event")
            .increment(raised.created.len() as u64);
    }
    tracing::info!(event_name = %event_name, executions = items.len(), "event raised");
    // A repeat that made nothing new (or an event nothing listens for) changed nothing.
    if !raised.created.is_empty() {
        let ids: Vec<String> = raised.created.iter().map(ToString::to_string).collect();
        let summary = format!(
            "raised; {} executions created: {}",
            ids.len(),
            ids.join(", ")
        );
        audit::record(
            &*state.store,
            caller.audit(AuditAction::EventRaise, event_name.to_string(), summary),
        )
        .await;
    }
    Ok(Json(EventExecutions { event_name, items }))
}
