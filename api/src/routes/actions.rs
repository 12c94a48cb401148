//! `/api/{tenantId}/{projectId}/action...`: managing actions.

use crate::audit;
use crate::error::ApiError;
use crate::extract::{ActionIdPath, Caller, JsonBody, QueryParams};
use crate::openapi::markers::{ActionCreate, ActionNotFound, ActionUpdate, NameConflict};
use crate::requests::ActionRequest;
use crate::startup::AppState;
use actuate_shared::domain::audit::AuditAction;
use actuate_shared::domain::draft::ActionPatch;
use actuate_shared::domain::ids::ActionId;
use actuate_shared::domain::model::Action;
use actuate_shared::domain::paging::{self, Cursor};
use actuate_shared::storage::ActionPage;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(ping))
        .routes(routes!(unauthorized_ping))
        .routes(routes!(fetch, update, remove))
        .routes(routes!(enable))
        .routes(routes!(disable))
}

/// Check the service and the caller's API key
#[utoipa::path(
    get, path = "/api/{tenantId}/{projectId}/action/ping", operation_id = "pingAction",
    tag = "Pings", security(("bearerAuth" = [])),
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
    get, path = "/api/{tenantId}/{projectId}/action/unauthorized-ping",
    operation_id = "unauthorizedPingAction", tag = "Pings",
    responses((status = 200, description = "`Ping Successful`.", body = String,
        example = "Ping Successful"))
)]
async fn unauthorized_ping() -> &'static str {
    super::unauthorized_ping().await
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ActionList {
    actions: Vec<Action>,
    /// All actions of the project, on every page.
    #[schema(minimum = 0)]
    total_count: i64,
    /// Pass as `cursor` for the next page; absent on the last page, so that a list that fits
    /// in one page keeps the documented shape exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ActionListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// List the actions of the project, oldest first
///
/// Paged: `nextCursor` names the next page; `totalCount` counts them all. Without `limit`, a
/// page holds up to 1,000 actions. Unknown query parameters are a 400.
#[utoipa::path(
    get, path = "/api/{tenantId}/{projectId}/action", operation_id = "listActions",
    tag = "Actions", security(("bearerAuth" = [])),
    params(ActionListQuery),
    responses((status = 200, description = "The project's actions.", body = ActionList))
)]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ActionListQuery>,
) -> Result<Json<ActionList>, ApiError> {
    // Unlike execution history, a whole project's actions fit in one default page: callers
    // written before paging (the vendor's client among them) list actions without a limit
    // and expect them all.
    let limit = paging::page_size(Some(query.limit.unwrap_or(paging::MAX_PAGE_SIZE)))
        .map_err(|e| ApiError::BadRequest(format!("limit: {e}")))?;
    let after = query
        .cursor
        .map(|c| c.parse::<Cursor<ActionId>>())
        .transpose()
        .map_err(|e| ApiError::BadRequest(format!("cursor: {e}")))?;
    // One more than asked tells whether another page follows.
    let page = ActionPage {
        after,
        limit: limit + 1,
    };
    let actions = state.store.list_actions(caller.scope, page).await?;
    let total_count = state.store.count_actions(caller.scope).await?;
    let (actions, next) = paging::split_page(actions, limit, ActionPage::cursor_of);
    Ok(Json(ActionList {
        actions,
        total_count,
        next_cursor: next.map(|c| c.encode()),
    }))
}

/// Get one action
#[utoipa::path(
    get, path = "/api/{tenantId}/{projectId}/action/{actionId}", operation_id = "getAction",
    tag = "Actions", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The action.", body = Action),
        (status = 404, response = ActionNotFound),
    )
)]
async fn fetch(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
) -> Result<Json<Action>, ApiError> {
    state
        .store
        .get_action(caller.scope, action_id)
        .await?
        .map(Json)
        .ok_or(ApiError::ActionNotFound(action_id))
}

/// Create an action
///
/// `name` and `steps` are required. Server-owned fields (`actionId`, `dateCreated`,
/// `createdBy`, `actionStatus`, ...) and unknown fields are ignored; step and trigger ids given
/// on create are ignored too. `null` counts as not given.
#[utoipa::path(
    post, path = "/api/{tenantId}/{projectId}/action", operation_id = "createAction",
    tag = "Actions", security(("bearerAuth" = [])),
    request_body = ActionCreate,
    responses(
        (status = 201, description = "The created action, with its assigned ids.", body = Action),
        (status = 409, response = NameConflict),
    )
)]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ActionRequest>,
) -> Result<(StatusCode, Json<Action>), ApiError> {
    let draft = request.into_draft()?;
    let action = state
        .store
        .create_action(caller.scope, draft, caller.key_id)
        .await?;
    tracing::info!(action_id = %action.action_id, tenant_id = %caller.scope.tenant_id, "action created");
    let summary = format!(
        "created {:?} with {} steps and {} triggers",
        action.name,
        action.steps.len(),
        action.triggers.len()
    );
    audit::record(
        &*state.store,
        caller.audit(
            AuditAction::ActionCreate,
            action.action_id.to_string(),
            summary,
        ),
    )
    .await;
    Ok((StatusCode::CREATED, Json(action)))
}

/// Update an action (partial update)
///
/// Every field is optional and only given fields change (`null` counts as not given). A given
/// `steps` or `triggers` list replaces the stored list: an entry with the `stepId` /
/// `triggerId` of one of this action's entries keeps that id and is updated, an entry without
/// one is created, and entries not named are removed. An id of another action is a 400.
#[utoipa::path(
    put, path = "/api/{tenantId}/{projectId}/action/{actionId}", operation_id = "updateAction",
    tag = "Actions", security(("bearerAuth" = [])),
    request_body = ActionUpdate,
    responses(
        (status = 200, description = "The updated action.", body = Action),
        (status = 404, response = ActionNotFound),
        (status = 409, response = NameConflict),
    )
)]
async fn update(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ActionRequest>,
) -> Result<Json<Action>, ApiError> {
    let patch = request.into_patch()?;
    let changed = patch.changed_fields();
    let action = apply(&state, caller, action_id, patch).await?;
    // An update that gives no field changes nothing.
    if !changed.is_empty() {
        let summary = format!("changed {}", changed.join(", "));
        audit::record(
            &*state.store,
            caller.audit(AuditAction::ActionUpdate, action_id.to_string(), summary),
        )
        .await;
    }
    Ok(action)
}

/// Delete an action
///
/// Finished executions of the deleted action stay readable.
#[utoipa::path(
    delete, path = "/api/{tenantId}/{projectId}/action/{actionId}", operation_id = "deleteAction",
    tag = "Actions", security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Deleted; empty body."),
        (status = 404, response = ActionNotFound),
    )
)]
async fn remove(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_action(caller.scope, action_id).await? {
        tracing::info!(%action_id, tenant_id = %caller.scope.tenant_id, "action deleted");
        audit::record(
            &*state.store,
            caller.audit(AuditAction::ActionDelete, action_id.to_string(), "deleted"),
        )
        .await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::ActionNotFound(action_id))
    }
}

/// Enable an action
///
/// Enabling restarts the action's schedules from now.
#[utoipa::path(
    post, path = "/api/{tenantId}/{projectId}/action/{actionId}/enable",
    operation_id = "enableAction", tag = "Actions", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The updated action, with `isEnabled: true`.", body = Action),
        (status = 404, response = ActionNotFound),
    )
)]
async fn enable(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
) -> Result<Json<Action>, ApiError> {
    set_enabled(&state, caller, action_id, true).await
}

/// Disable an action
#[utoipa::path(
    post, path = "/api/{tenantId}/{projectId}/action/{actionId}/disable",
    operation_id = "disableAction", tag = "Actions", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The updated action, with `isEnabled: false`.", body = Action),
        (status = 404, response = ActionNotFound),
    )
)]
async fn disable(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
) -> Result<Json<Action>, ApiError> {
    set_enabled(&state, caller, action_id, false).await
}

pub(crate) async fn set_enabled(
    state: &AppState,
    caller: Caller,
    action_id: actuate_shared::domain::ids::ActionId,
    enabled: bool,
) -> Result<Json<Action>, ApiError> {
    let patch = ActionPatch {
        is_enabled: Some(enabled),
        ..ActionPatch::default()
    };
    let action = apply(state, caller, action_id, patch).await?;
    let (what, summary) = if enabled {
        (AuditAction::ActionEnable, "enabled")
    } else {
        (AuditAction::ActionDisable, "disabled")
    };
    audit::record(
        &*state.store,
        caller.audit(what, action_id.to_string(), summary),
    )
    .await;
    Ok(action)
}

async fn apply(
    state: &AppState,
    caller: Caller,
    action_id: actuate_shared::domain::ids::ActionId,
    patch: ActionPatch,
) -> Result<Json<Action>, ApiError> {
    state
        .store
        .update_action(caller.scope, action_id, patch, caller.key_id)
        .await?
        .map(Json)
        .ok_or(ApiError::ActionNotFound(action_id))
}
