//! The projects a key may open, the actions of a project, one action with its steps and
//! triggers, and the forms that execute, enable and disable it (through the same functions as
//! the API's routes: the same checks, limits and audit entries).

use super::render;
use super::session::{CsrfForm, InProject, Viewer};
use crate::error::ApiError;
use crate::routes;
use crate::startup::AppState;
use actuate_shared::domain::ids::{ActionId, ProjectId};
use actuate_shared::storage::ActionPage;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

/// The most actions a page lists.
const PAGE: i64 = 1000;

pub async fn home(viewer: Result<Viewer, Response>) -> Response {
    match viewer {
        Ok(viewer) => match viewer.key.project_id {
            Some(project) => Redirect::to(&format!("/ui/p/{project}/actions")).into_response(),
            None => Redirect::to("/ui/projects").into_response(),
        },
        Err(_) => Redirect::to("/ui/login").into_response(),
    }
}

pub async fn projects(State(state): State<AppState>, viewer: Viewer) -> Response {
    if let Some(project) = viewer.key.project_id {
        return Redirect::to(&format!("/ui/p/{project}/actions")).into_response();
    }
    let projects = match state.store.list_projects(viewer.key.tenant_id).await {
        Ok(p) => p,
        Err(e) => return error_page(e.into()),
    };
    render::page(
        "projects.html",
        context! {
            signed_in => true, csrf => viewer.csrf, tenant => viewer.key.tenant_id,
            read_only => viewer.key.read_only, projects,
        },
    )
}

#[derive(Deserialize)]
pub struct OpenProject {
    project: String,
}

pub async fn open_project(_viewer: Viewer, Query(query): Query<OpenProject>) -> Response {
    match query.project.trim().parse::<ProjectId>() {
        Ok(project) => Redirect::to(&format!("/ui/p/{project}/actions")).into_response(),
        Err(_) => render::message(
            StatusCode::BAD_REQUEST,
            "Not a project id",
            "A project id is a UUID, e.g. 9a1e0c7e-3b1d-4f6e-8d4a-2c5b7e9f0a11.",
        ),
    }
}

pub async fn list(State(state): State<AppState>, at: InProject) -> Response {
    let scope = at.caller.scope;
    let page = ActionPage {
        after: None,
        limit: PAGE,
    };
    let listed = async {
        let actions = state.store.list_actions(scope, page).await?;
        let total = state.store.count_actions(scope).await?;
        Ok::<_, ApiError>((actions, total))
    };
    let (actions, total) = match listed.await {
        Ok(found) => found,
        Err(e) => return error_page(e),
    };
    render::page(
        "actions.html",
        context! {
            signed_in => true, csrf => at.viewer.csrf, project => at.project(),
            more => (actions.len() as i64) < total, total, actions,
        },
    )
}

pub async fn detail(
    State(state): State<AppState>,
    at: InProject,
    Path((_, action_id)): Path<(String, ActionId)>,
) -> Response {
    show(&state, &at, action_id, None, None, StatusCode::OK).await
}

/// The action's page, with `error` (and the input that caused it) when a form failed.
async fn show(
    state: &AppState,
    at: &InProject,
    action_id: ActionId,
    error: Option<String>,
    input: Option<String>,
    status: StatusCode,
) -> Response {
    let action = match state.store.get_action(at.caller.scope, action_id).await {
        Ok(Some(action)) => action,
        Ok(None) => return error_page(ApiError::ActionNotFound(action_id)),
        Err(e) => return error_page(e.into()),
    };
    let mut response = render::page(
        "action.html",
        context! {
            signed_in => true, csrf => at.viewer.csrf, project => at.project(),
            read_only => at.viewer.key.read_only, action, error, input,
        },
    );
    *response.status_mut() = status;
    response
}

#[derive(Deserialize)]
pub struct ExecuteForm {
    csrf: String,
    #[serde(default)]
    input: String,
}

pub async fn execute(
    State(state): State<AppState>,
    at: InProject,
    Path((_, action_id)): Path<(String, ActionId)>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<ExecuteForm>,
) -> Response {
    if let Some(refused) = at.viewer.refuse_form(&headers, &form.csrf) {
        return refused;
    }
    let text = form.input.trim();
    let input = if text.is_empty() {
        Ok(None)
    } else {
        serde_json::from_str(text)
            .map_err(|e| ApiError::BadRequest(format!("input is not valid JSON: {e}")))
            .and_then(|value| routes::execute::storable_input(Some(value), "input"))
    };
    let executed = match input {
        Ok(input) => {
            routes::execute::execute(&state, at.caller, action_id, &HeaderMap::new(), input, None)
                .await
        }
        Err(e) => Err(e),
    };
    match executed {
        Ok(execution) => Redirect::to(&format!(
            "/ui/p/{}/executions/{}",
            at.project(),
            execution.0.action_execution_id
        ))
        .into_response(),
        Err(e) => {
            let status = e.answer().0;
            show(
                &state,
                &at,
                action_id,
                Some(e.to_string()),
                Some(form.input),
                status,
            )
            .await
        }
    }
}

pub async fn enable(
    state: State<AppState>,
    at: InProject,
    path: Path<(String, ActionId)>,
    headers: HeaderMap,
    form: axum::Form<CsrfForm>,
) -> Response {
    switch(state, at, path, headers, form, true).await
}

pub async fn disable(
    state: State<AppState>,
    at: InProject,
    path: Path<(String, ActionId)>,
    headers: HeaderMap,
    form: axum::Form<CsrfForm>,
) -> Response {
    switch(state, at, path, headers, form, false).await
}

async fn switch(
    State(state): State<AppState>,
    at: InProject,
    Path((_, action_id)): Path<(String, ActionId)>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<CsrfForm>,
    enabled: bool,
) -> Response {
    if let Some(refused) = at.viewer.refuse_form(&headers, &form.csrf) {
        return refused;
    }
    match routes::actions::set_enabled(&state, at.caller, action_id, enabled).await {
        Ok(_) => {
            Redirect::to(&format!("/ui/p/{}/actions/{action_id}", at.project())).into_response()
        }
        Err(e) => error_page(e),
    }
}

/// An API error as a page: its status, its message (5xx stay opaque, as in the API).
pub fn error_page(error: ApiError) -> Response {
    let status = error.answer().0;
    let text = if status.is_server_error() {
        match status {
            StatusCode::SERVICE_UNAVAILABLE => {
                "The database does not answer; try again in a moment.".to_string()
            }
            _ => "Something went wrong on our side; it has been logged.".to_string(),
        }
    } else {
        error.to_string()
    };
    if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
        tracing::error!(error = ?error, "dashboard request failed");
    }
    render::message(status, status.canonical_reason().unwrap_or("Error"), &text)
}
