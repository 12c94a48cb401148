//! Acting on executions already made: re-run one (`/actionexecution/{id}/rerun`), and cancel or
//! re-run many at once with a filter (`/actionexecution/cancel`, `/actionexecution/rerun`).
//! Bulk actions are bounded by `limit` and take the newest matching executions first; each
//! execution is cancelled or re-run on its own, exactly as the single-execution routes do it,
//! so one that ends meanwhile is skipped rather than failing the whole request.

use super::execute::idempotency_key;
use super::history::{action_id, parsed, window};
use crate::audit;
use crate::error::ApiError;
use crate::extract::{Caller, ExecutionIdPath, JsonBody, ObjectShape};
use crate::openapi::markers::{
    BulkFilter as BulkFilterBody, CancelFilter as CancelFilterBody, RateLimited, RerunNotFound,
};
use crate::startup::AppState;
use actuate_shared::domain::audit::AuditAction;
use actuate_shared::domain::ids::ExecutionId;
use actuate_shared::domain::model::{Execution, ExecutionDetail, ExecutionStatus, TriggerKind};
use actuate_shared::domain::paging::MAX_PAGE_SIZE;
use actuate_shared::storage::{CancelOutcome, ExecuteOutcome, ExecutionFilter, NewExecution};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(rerun))
        .routes(routes!(cancel_many))
        .routes(routes!(rerun_many))
}

/// The filter of a bulk action. Unknown fields are a 400: a misspelt filter must not widen
/// what is cancelled.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BulkFilter {
    action_id: Option<String>,
    status: Option<String>,
    since: Option<String>,
    until: Option<String>,
    #[serde(default, deserialize_with = "crate::requests::integer")]
    limit: Option<i64>,
}

impl ObjectShape for BulkFilter {}

/// Default and largest number of executions one bulk request acts on.
pub const BULK_LIMIT: i64 = MAX_PAGE_SIZE;

impl BulkFilter {
    /// The executions to act on. At least one condition is required: an empty or forgotten
    /// body must not act on the whole project (`{"since": "2000-01-01T00:00:00Z"}` says
    /// "everything" on purpose).
    fn filter(self) -> Result<ExecutionFilter, ApiError> {
        let limit = self.limit.unwrap_or(BULK_LIMIT);
        if !(1..=BULK_LIMIT).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "limit: must be between 1 and {BULK_LIMIT}"
            )));
        }
        let (since, until) = window(self.since, self.until)?;
        let action_id = action_id("actionId", self.action_id)?;
        let status = parsed("status", self.status, str::parse::<ExecutionStatus>)?;
        if action_id.is_none() && status.is_none() && since.is_none() && until.is_none() {
            return Err(ApiError::BadRequest(
                "body: give at least one of actionId, status, since, until".into(),
            ));
        }
        Ok(ExecutionFilter {
            action_id,
            status,
            since,
            until,
            limit,
            ..ExecutionFilter::default()
        })
    }
}

/// What a bulk action did: how many executions it acted on, and their ids.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct BulkResult {
    #[schema(minimum = 0)]
    count: usize,
    /// The executions acted on (for a re-run: the originals), newest first.
    ids: Vec<ExecutionId>,
    /// A re-run's new executions, in the order of `ids`; absent for a cancel.
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<Vec<Execution>>,
}

/// Creates a re-run of `original`: the same input, the action's current steps, `rerunOf`.
async fn rerun_one(
    state: &AppState,
    caller: Caller,
    original: ExecutionId,
    idempotency_key: Option<String>,
) -> Result<Option<Execution>, ApiError> {
    let Some(detail) = state.store.get_execution(caller.scope, original).await? else {
        return Ok(None);
    };
    rerun_of(state, caller, detail, idempotency_key)
        .await
        .map(Some)
}

/// Creates a re-run of the execution `detail` shows.
pub(crate) async fn rerun_of(
    state: &AppState,
    caller: Caller,
    detail: ExecutionDetail,
    idempotency_key: Option<String>,
) -> Result<Execution, ApiError> {
    let original = detail.execution.action_execution_id;
    let action_id = detail.execution.action_id;
    let request = NewExecution {
        // Its own key space: the same key on an execute of the action is another request.
        idempotency_key: idempotency_key.map(|k| format!("rerun {original} {k}")),
        rerun_of: Some(original),
        audit: Some(caller.audit_execution(
            AuditAction::Rerun,
            format!("re-ran execution {original} of action {action_id}"),
        )),
        ..NewExecution::new(TriggerKind::Manual, detail.input)
    };
    match state
        .store
        .create_execution(caller.scope, action_id, request)
        .await?
    {
        ExecuteOutcome::Created(execution) => {
            metrics::counter!("actuate_executions_created_total", "trigger" => "rerun")
                .increment(1);
            tracing::info!(
                %action_id,
                execution_id = %execution.action_execution_id,
                rerun_of = %original,
                "execution queued"
            );
            Ok(execution)
        }
        ExecuteOutcome::Existing(execution) => Ok(execution),
        ExecuteOutcome::ActionNotFound => Err(ApiError::ActionNotFound(action_id)),
        ExecuteOutcome::ActionDisabled => Err(ApiError::CannotExecute(action_id)),
    }
}

/// Re-run an execution (extension)
///
/// Creates a new execution of the same action with the same input and the action's current
/// steps; its `rerunOf` names the original. The action must still exist and be enabled. An
/// `Idempotency-Key` repeated for the same original within 24 hours answers the first re-run.
#[utoipa::path(
    post, path = "/api/{tenantId}/{projectId}/actionexecution/{actionExecutionId}/rerun",
    operation_id = "rerunExecution", tag = "Executions", security(("bearerAuth" = [])),
    params(("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 200, description = "The new execution, Queued.", body = Execution),
        (status = 404, response = RerunNotFound),
        (status = 429, response = RateLimited),
    )
)]
async fn rerun(
    caller: Caller,
    ExecutionIdPath(execution_id): ExecutionIdPath,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Execution>, ApiError> {
    let key = idempotency_key(&headers)?;
    state.execute_limiter.check(caller.scope.tenant_id)?;
    let execution = rerun_one(&state, caller, execution_id, key)
        .await?
        .ok_or(ApiError::ExecutionNotFound(execution_id))?;
    state.relay.wake();
    Ok(Json(execution))
}

/// Cancel many executions (extension)
///
/// Cancels the Queued and Running executions the filter selects (at least one of `actionId`,
/// `status` (`Queued` or `Running`), `since`, `until` on `dateStarted`), newest first, at most
/// `limit` (default and most 1,000). An execution that ends meanwhile is skipped.
#[utoipa::path(
    post, path = "/api/{tenantId}/{projectId}/actionexecution/cancel",
    operation_id = "cancelExecutions", tag = "Executions", security(("bearerAuth" = [])),
    request_body = CancelFilterBody,
    responses((status = 200, description = "The executions cancelled.", body = BulkResult))
)]
async fn cancel_many(
    caller: Caller,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<BulkFilter>,
) -> Result<Json<BulkResult>, ApiError> {
    let filter = body.filter()?;
    let statuses = match filter.status {
        None => vec![ExecutionStatus::Running, ExecutionStatus::Queued],
        Some(s @ (ExecutionStatus::Queued | ExecutionStatus::Running)) => vec![s],
        Some(_) => {
            return Err(ApiError::BadRequest(
                "status: only Queued or Running executions can be cancelled".into(),
            ));
        }
    };
    let mut candidates = Vec::new();
    for status in statuses {
        let filter = ExecutionFilter {
            status: Some(status),
            ..filter
        };
        candidates.extend(state.store.list_executions(caller.scope, filter).await?);
    }
    candidates.sort_by_key(|e| std::cmp::Reverse(ExecutionFilter::cursor_of(e).at));
    candidates.truncate(usize::try_from(filter.limit).unwrap_or(usize::MAX));
    let mut ids = Vec::with_capacity(candidates.len());
    for execution in candidates {
        let id = execution.action_execution_id;
        if let CancelOutcome::Cancelled(_) = state.store.cancel_execution(caller.scope, id).await? {
            audit::record(
                &*state.store,
                caller.audit(
                    AuditAction::Cancel,
                    id.to_string(),
                    "cancelled (bulk cancel)",
                ),
            )
            .await;
            ids.push(id);
        }
    }
    tracing::info!(count = ids.len(), tenant_id = %caller.scope.tenant_id, "executions cancelled");
    Ok(Json(BulkResult {
        count: ids.len(),
        ids,
        items: None,
    }))
}

/// Re-run many executions (extension)
///
/// Re-runs the executions the filter selects (at least one of `actionId`, `status`, `since`,
/// `until` on `dateStarted`), newest first, at most `limit` (default and most 1,000),
/// each as `POST .../{actionExecutionId}/rerun` would. Executions of actions deleted or
/// disabled since are skipped, and so is a re-run whose original is selected too (the
/// original's new re-run covers it). Counts against the execute rate limit once per execution
/// it may create. With an `Idempotency-Key`, each original gets the re-run that key gave it
/// before, so a retried request creates nothing twice.
#[utoipa::path(
    post, path = "/api/{tenantId}/{projectId}/actionexecution/rerun",
    operation_id = "rerunExecutions", tag = "Executions", security(("bearerAuth" = [])),
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = BulkFilterBody,
    responses(
        (status = 200, description = "The executions re-run, and their new executions.", body = BulkResult),
        (status = 429, response = RateLimited),
    )
)]
async fn rerun_many(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<BulkFilter>,
) -> Result<Json<BulkResult>, ApiError> {
    let key = idempotency_key(&headers)?;
    let filter = body.filter()?;
    let originals = state.store.list_executions(caller.scope, filter).await?;
    // Charged for each execution it may create, before any is written.
    state
        .execute_limiter
        .check_n(caller.scope.tenant_id, originals.len())?;
    let selected: HashSet<ExecutionId> = originals.iter().map(|e| e.action_execution_id).collect();
    let mut ids = Vec::with_capacity(originals.len());
    let mut items = Vec::with_capacity(originals.len());
    for original in originals {
        let id = original.action_execution_id;
        let Some(detail) = state.store.get_execution(caller.scope, id).await? else {
            continue;
        };
        // A re-run whose original is selected too is covered by the original's new re-run;
        // this is also what makes a retried keyed request find only its first answers, though
        // its first attempt's re-runs now match the filter.
        if detail.rerun_of.is_some_and(|of| selected.contains(&of)) {
            continue;
        }
        match rerun_of(&state, caller, detail, key.clone()).await {
            Ok(execution) => {
                ids.push(id);
                items.push(execution);
            }
            Err(ApiError::ActionNotFound(_) | ApiError::CannotExecute(_)) => {}
            Err(e) => return Err(e),
        }
    }
    if !items.is_empty() {
        state.relay.wake();
    }
    Ok(Json(BulkResult {
        count: ids.len(),
        ids,
        items: Some(items),
    }))
}
