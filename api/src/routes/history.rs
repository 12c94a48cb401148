//! Execution history: the lists of `/actionexecution` (the whole project's, or one action's)
//! and an action's newest execution. Lists are paged by cursor ([`paging`]): `nextCursor`
//! beside the documented `items` names the next page, null on the last.

use crate::error::ApiError;
use crate::extract::{ActionIdPath, Caller, QueryParams};
use crate::openapi::markers::{ActionNotFound, ActionNotFoundOrNoExecutions};
use crate::startup::AppState;
use actuate_shared::domain::ids::{ActionId, ExecutionId};
use actuate_shared::domain::model::{Execution, ExecutionStatus, TriggerKind};
use actuate_shared::domain::paging::{self, Cursor};
use actuate_shared::storage::ExecutionFilter;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_project))
        .routes(routes!(list))
        .routes(routes!(last))
}

/// The conditions every execution list takes; the project's list also takes `actionId`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct HistoryQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    offset: Option<i64>,
    status: Option<String>,
    trigger: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

/// [`HistoryQuery`] and `actionId`. Its own struct: serde's `flatten` would read the numbers
/// of a query string as text and could not refuse unknown parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
struct ProjectHistoryQuery {
    action_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
    offset: Option<i64>,
    status: Option<String>,
    trigger: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

impl ProjectHistoryQuery {
    fn split(self) -> (Option<String>, HistoryQuery) {
        let history = HistoryQuery {
            limit: self.limit,
            cursor: self.cursor,
            offset: self.offset,
            status: self.status,
            trigger: self.trigger,
            since: self.since,
            until: self.until,
        };
        (self.action_id, history)
    }
}

/// A query value `name` parsed with `parse`, or a 400 naming it.
pub(super) fn parsed<T>(
    name: &str,
    value: Option<String>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, ApiError> {
    value
        .map(|v| parse(&v).map_err(|e| ApiError::BadRequest(format!("{name}: {e}"))))
        .transpose()
}

/// An action id given as a parameter or field `name`.
pub(super) fn action_id(name: &str, value: Option<String>) -> Result<Option<ActionId>, ApiError> {
    parsed(name, value, |s| {
        s.parse::<ActionId>()
            .map_err(|_| format!("'{s}' is not a GUID"))
    })
}

/// `since` and `until` (RFC 3339 times), `since` before `until` when both are given.
pub(super) type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

pub(super) fn window(since: Option<String>, until: Option<String>) -> Result<Window, ApiError> {
    let since = parsed("since", since, time)?;
    let until = parsed("until", until, time)?;
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(ApiError::BadRequest("since: must be before until".into()));
    }
    Ok((since, until))
}

/// An RFC 3339 time with its offset, as the API answers times.
pub(super) fn time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("'{text}' is not an RFC 3339 time (e.g. 2026-12-04T10:00:00Z)"))
}

impl HistoryQuery {
    fn filter(self, action_id: Option<ActionId>) -> Result<ExecutionFilter, ApiError> {
        let limit = paging::page_size(self.limit)
            .map_err(|e| ApiError::BadRequest(format!("limit: {e}")))?;
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(ApiError::BadRequest("offset: must not be negative".into()));
        }
        if offset > 0 && self.cursor.is_some() {
            return Err(ApiError::BadRequest(
                "cursor: give either cursor or offset, not both".into(),
            ));
        }
        let (since, until) = window(self.since, self.until)?;
        Ok(ExecutionFilter {
            action_id,
            status: parsed("status", self.status, str::parse::<ExecutionStatus>)?,
            trigger: parsed("trigger", self.trigger, str::parse::<TriggerKind>)?,
            since,
            until,
            after: parsed("cursor", self.cursor, str::parse::<Cursor<ExecutionId>>)?,
            offset,
            limit,
        })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ExecutionList {
    items: Vec<Execution>,
    /// Pass as `cursor` for the next page; absent on the last page, so that a list that fits
    /// in one page keeps the documented shape exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// One page of the executions `filter` selects, and the cursor of the next.
async fn page(
    state: &AppState,
    caller: &Caller,
    filter: ExecutionFilter,
) -> Result<ExecutionList, ApiError> {
    // One more than asked tells whether another page follows.
    let fetch = ExecutionFilter {
        limit: filter.limit + 1,
        ..filter
    };
    let items = state.store.list_executions(caller.scope, fetch).await?;
    let (items, next) = paging::split_page(items, filter.limit, ExecutionFilter::cursor_of);
    Ok(ExecutionList {
        items,
        next_cursor: next.map(|c| c.encode()),
    })
}

/// List the project's executions, newest first (extension)
///
/// Paged: `nextCursor` names the next page. Unknown query parameters are a 400.
#[utoipa::path(
    get, path = "/api/{tenantId}/{projectId}/actionexecution",
    operation_id = "listProjectExecutions", tag = "Executions", security(("bearerAuth" = [])),
    params(ProjectHistoryQuery),
    responses((status = 200, description = "The executions, newest first.", body = ExecutionList))
)]
async fn list_project(
    caller: Caller,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ProjectHistoryQuery>,
) -> Result<Json<ExecutionList>, ApiError> {
    let (given, history) = query.split();
    let action_id = action_id("actionId", given)?;
    let filter = history.filter(action_id)?;
    Ok(Json(page(&state, &caller, filter).await?))
}

/// List the executions of an action, newest first
///
/// Executions of a deleted action stay listed; an action id that never had any execution and
/// does not exist is a 404. Paged: `nextCursor` names the next page. Unknown query parameters
/// are a 400.
#[utoipa::path(
    get, path = "/api/{tenantId}/{projectId}/actionexecution/action/{actionId}",
    operation_id = "listExecutions", tag = "Executions", security(("bearerAuth" = [])),
    params(HistoryQuery),
    responses(
        (status = 200, description = "The executions, newest first.", body = ExecutionList),
        (status = 404, response = ActionNotFound),
    )
)]
async fn list(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<HistoryQuery>,
) -> Result<Json<ExecutionList>, ApiError> {
    let filtered = query.status.is_some()
        || query.trigger.is_some()
        || query.since.is_some()
        || query.until.is_some()
        || query.cursor.is_some()
        || query.offset.is_some_and(|o| o > 0);
    let list = page(&state, &caller, query.filter(Some(action_id))?).await?;
    // Executions of a deleted action stay listed; only an id that never had any is a 404. A
    // filter or a page past the end may select none of an action that has some: checked
    // against the action's whole history then.
    if list.items.is_empty() && !action_known(&state, &caller, action_id, filtered).await? {
        return Err(ApiError::ActionNotFound(action_id));
    }
    Ok(Json(list))
}

/// Whether `action_id` exists or ever had an execution (`any_execution`: look for one).
async fn action_known(
    state: &AppState,
    caller: &Caller,
    action_id: ActionId,
    any_execution: bool,
) -> Result<bool, ApiError> {
    if state
        .store
        .get_action(caller.scope, action_id)
        .await?
        .is_some()
    {
        return Ok(true);
    }
    if !any_execution {
        return Ok(false);
    }
    let one = ExecutionFilter::newest_of(action_id);
    Ok(!state
        .store
        .list_executions(caller.scope, one)
        .await?
        .is_empty())
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
    let filter = ExecutionFilter::newest_of(action_id);
    let newest = state
        .store
        .list_executions(caller.scope, filter)
        .await?
        .pop();
    match newest {
        Some(execution) => Ok(Json(execution)),
        None if !action_known(&state, &caller, action_id, false).await? => {
            Err(ApiError::ActionNotFound(action_id))
        }
        None => Err(ApiError::NoExecutions(action_id)),
    }
}
