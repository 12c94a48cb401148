//! One execution: its fields, a timeline of its steps (a bar each from its start to its end,
//! on the execution's span), each step's output, log and error, re-read by the page while it
//! runs; and the cancel and re-run forms (through the API's own functions).

use super::actions::error_page;
use super::executions::{took, when};
use super::render;
use super::session::{CsrfForm, InProject};
use crate::error::ApiError;
use crate::routes;
use crate::startup::AppState;
use actuate_shared::domain::ids::ExecutionId;
use actuate_shared::domain::model::{ExecutionDetail, ExecutionStatus};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::Serialize;

/// One step as the page shows it; `left` and `width` place its bar on the execution's span,
/// in percent.
#[derive(Serialize)]
struct StepView {
    number: i32,
    r#type: String,
    status: String,
    attempts: i32,
    duration: String,
    left: f64,
    width: f64,
    output: Option<String>,
    log: Option<String>,
    error: Option<String>,
}

#[derive(Serialize)]
struct ExecutionView {
    id: String,
    short_id: String,
    status: String,
    action_id: String,
    action_name: String,
    trigger: String,
    attempt: i32,
    started: String,
    ended: Option<String>,
    /// Completed or Failed: the page stops following it and offers no cancel.
    finished: bool,
    duration: String,
    rerun_of: Option<String>,
    notes: Option<String>,
    input: String,
    steps: Vec<StepView>,
}

fn view(detail: &ExecutionDetail) -> ExecutionView {
    let e = &detail.execution;
    let start = e.date_started;
    let end = e.date_ended.unwrap_or_else(Utc::now);
    let span = (end - start).num_milliseconds().max(1) as f64;
    let at =
        |t: DateTime<Utc>| ((t - start).num_milliseconds().max(0) as f64 / span * 100.0).min(100.0);
    let steps = detail
        .steps
        .iter()
        .map(|s| {
            let (left, width) = match s.date_started {
                Some(from) => {
                    let left = at(from);
                    (left, (at(s.date_ended.unwrap_or(end)) - left).max(0.5))
                }
                None => (0.0, 0.0),
            };
            StepView {
                number: s.step_number,
                r#type: s.step_type.as_str().to_string(),
                status: s.status.as_str().to_string(),
                attempts: s.attempts,
                duration: took(s.date_started, s.date_ended),
                left,
                width,
                output: s
                    .output
                    .as_ref()
                    .map(|o| serde_json::to_string_pretty(o).unwrap_or_default()),
                log: s.log.clone(),
                error: s.error.clone(),
            }
        })
        .collect();
    let id = e.action_execution_id.to_string();
    ExecutionView {
        short_id: id[..8].to_string(),
        id,
        status: e.status.as_str().to_string(),
        action_id: e.action_id.to_string(),
        action_name: detail.action_name.clone(),
        trigger: detail.trigger.as_str().to_string(),
        attempt: detail.attempt,
        started: when(start),
        ended: e.date_ended.map(when),
        finished: matches!(
            e.status,
            ExecutionStatus::Completed | ExecutionStatus::Failed
        ),
        duration: took(Some(start), e.date_ended),
        rerun_of: detail.rerun_of.map(|r| r.to_string()),
        notes: e.notes.clone(),
        input: detail
            .input
            .as_ref()
            .map(|i| serde_json::to_string_pretty(i).unwrap_or_default())
            .unwrap_or_else(|| "(none)".into()),
        steps,
    }
}

async fn execution_page(
    state: &AppState,
    at: &InProject,
    id: ExecutionId,
    template: &str,
    error: Option<String>,
) -> Response {
    let detail = match state.store.get_execution(at.caller.scope, id).await {
        Ok(Some(d)) => d,
        Ok(None) => return error_page(ApiError::ExecutionNotFound(id)),
        Err(e) => return error_page(e.into()),
    };
    let e = view(&detail);
    let done = e.finished;
    let mut response = render::page(
        template,
        context! {
            signed_in => true, csrf => at.viewer.csrf, project => at.project(),
            read_only => at.viewer.key.read_only, e, error,
        },
    );
    if done {
        response
            .headers_mut()
            .insert("x-final", HeaderValue::from_static("1"));
    }
    response
}

pub async fn detail(
    State(state): State<AppState>,
    at: InProject,
    Path((_, id)): Path<(String, ExecutionId)>,
) -> Response {
    execution_page(&state, &at, id, "execution.html", None).await
}

pub async fn body(
    State(state): State<AppState>,
    at: InProject,
    Path((_, id)): Path<(String, ExecutionId)>,
) -> Response {
    execution_page(&state, &at, id, "execution_body.html", None).await
}

pub async fn cancel(
    State(state): State<AppState>,
    at: InProject,
    Path((_, id)): Path<(String, ExecutionId)>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    if let Some(refused) = at.viewer.refuse_form(&headers, &form.csrf) {
        return refused;
    }
    match routes::executions::cancel_execution(&state, at.caller, id).await {
        Ok(_) => Redirect::to(&format!("/ui/p/{}/executions/{id}", at.project())).into_response(),
        Err(e @ ApiError::AlreadyFinished(..)) => {
            execution_page(&state, &at, id, "execution.html", Some(e.to_string())).await
        }
        Err(e) => error_page(e),
    }
}

pub async fn rerun(
    State(state): State<AppState>,
    at: InProject,
    Path((_, id)): Path<(String, ExecutionId)>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    if let Some(refused) = at.viewer.refuse_form(&headers, &form.csrf) {
        return refused;
    }
    let detail = match state.store.get_execution(at.caller.scope, id).await {
        Ok(Some(d)) => d,
        Ok(None) => return error_page(ApiError::ExecutionNotFound(id)),
        Err(e) => return error_page(e.into()),
    };
    match routes::control::rerun_of(&state, at.caller, detail, None).await {
        Ok(new) => Redirect::to(&format!(
            "/ui/p/{}/executions/{}",
            at.project(),
            new.action_execution_id
        ))
        .into_response(),
        Err(e) => error_page(e),
    }
}
