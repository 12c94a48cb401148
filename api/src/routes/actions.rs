//! `/api/{tenantId}/{projectId}/action...`: managing actions.

use super::{ping, unauthorized_ping};
use crate::error::ApiError;
use crate::extract::{ActionIdPath, Caller, JsonBody};
use crate::requests::ActionRequest;
use crate::startup::AppState;
use actuate_shared::draft::ActionPatch;
use actuate_shared::model::Action;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

const BASE: &str = "/api/{tenantId}/{projectId}/action";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(&format!("{BASE}/ping"), get(ping))
        .route(&format!("{BASE}/unauthorized-ping"), get(unauthorized_ping))
        .route(
            &format!("{BASE}/{{actionId}}"),
            get(fetch).put(update).delete(remove),
        )
        .route(&format!("{BASE}/{{actionId}}/enable"), post(enable))
        .route(&format!("{BASE}/{{actionId}}/disable"), post(disable))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActionList {
    actions: Vec<Action>,
    total_count: usize,
}

async fn list(caller: Caller, State(state): State<AppState>) -> Result<Json<ActionList>, ApiError> {
    let actions = state.store.list_actions(caller.scope).await?;
    Ok(Json(ActionList {
        total_count: actions.len(),
        actions,
    }))
}

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
    Ok((StatusCode::CREATED, Json(action)))
}

async fn update(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ActionRequest>,
) -> Result<Json<Action>, ApiError> {
    let patch = request.into_patch()?;
    apply(&state, caller, action_id, patch).await
}

async fn remove(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_action(caller.scope, action_id).await? {
        tracing::info!(%action_id, tenant_id = %caller.scope.tenant_id, "action deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::ActionNotFound(action_id))
    }
}

async fn enable(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
) -> Result<Json<Action>, ApiError> {
    set_enabled(&state, caller, action_id, true).await
}

async fn disable(
    caller: Caller,
    ActionIdPath(action_id): ActionIdPath,
    State(state): State<AppState>,
) -> Result<Json<Action>, ApiError> {
    set_enabled(&state, caller, action_id, false).await
}

async fn set_enabled(
    state: &AppState,
    caller: Caller,
    action_id: actuate_shared::ids::ActionId,
    enabled: bool,
) -> Result<Json<Action>, ApiError> {
    let patch = ActionPatch {
        is_enabled: Some(enabled),
        ..ActionPatch::default()
    };
    apply(state, caller, action_id, patch).await
}

async fn apply(
    state: &AppState,
    caller: Caller,
    action_id: actuate_shared::ids::ActionId,
    patch: ActionPatch,
) -> Result<Json<Action>, ApiError> {
    state
        .store
        .update_action(caller.scope, action_id, patch, caller.key_id)
        .await?
        .map(Json)
        .ok_or(ApiError::ActionNotFound(action_id))
}
