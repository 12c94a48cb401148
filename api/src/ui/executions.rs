//! Executions: the filtered list (its rows re-read every second by the page's script) and the
//! chart. One execution's page is `execution.rs`.

use super::actions::error_page;
use super::chart::{self, Range};
use super::render;
use super::session::InProject;
use crate::error::ApiError;
use crate::startup::AppState;
use actuate_shared::domain::ids::{ActionId, ExecutionId};
use actuate_shared::domain::model::{Execution, ExecutionStatus, TriggerKind};
use actuate_shared::domain::paging::Cursor;
use actuate_shared::storage::{ActionPage, ExecutionFilter};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Rows per page of the list.
const PAGE: i64 = 50;

/// The list's filters, as the form sends them (empty fields are no filter).
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Filters {
    #[serde(default)]
    action: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    trigger: String,
    /// `YYYY-MM-DDTHH:MM` (a datetime-local field), UTC.
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    cursor: String,
    #[serde(default, skip_serializing)]
    range: String,
}

impl Filters {
    fn filter(&self) -> Result<ExecutionFilter, ApiError> {
        let bad = |what: &str, e: String| ApiError::BadRequest(format!("{what}: {e}"));
        Ok(ExecutionFilter {
            action_id: optional(&self.action)
                .map(|s| {
                    s.parse::<ActionId>()
                        .map_err(|e| bad("action", e.to_string()))
                })
                .transpose()?,
            status: optional(&self.status)
                .map(|s| {
                    s.parse::<ExecutionStatus>()
                        .map_err(|e| bad("status", e.to_string()))
                })
                .transpose()?,
            trigger: optional(&self.trigger)
                .map(|s| {
                    s.parse::<TriggerKind>()
                        .map_err(|e| bad("trigger", e.to_string()))
                })
                .transpose()?,
            since: optional(&self.since)
                .map(|s| local_time(s, "since"))
                .transpose()?,
            until: optional(&self.until)
                .map(|s| local_time(s, "until"))
                .transpose()?,
            after: optional(&self.cursor)
                .map(|s| {
                    s.parse::<Cursor<ExecutionId>>()
                        .map_err(|e| bad("cursor", e))
                })
                .transpose()?,
            limit: PAGE + 1,
            ..ExecutionFilter::default()
        })
    }

    /// The filters as a query string (for the rows' refresh and the chart's links).
    fn query(&self) -> String {
        let pairs = [
            ("action", &self.action),
            ("status", &self.status),
            ("trigger", &self.trigger),
            ("since", &self.since),
            ("until", &self.until),
        ];
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()))
            .finish()
    }
}

/// `text` trimmed, or `None` when empty.
fn optional(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|s| !s.is_empty())
}

/// A datetime-local value (or RFC 3339) as UTC.
fn local_time(text: &str, what: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{what}: expected a date and time, e.g. 2026-12-05T14:30"
            ))
        })
}

/// One row of the list.
#[derive(Serialize)]
struct Row {
    id: String,
    short_id: String,
    status: String,
    action: String,
    started: String,
    duration: String,
    notes: String,
}

pub(super) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

pub(super) fn took(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> String {
    let Some(start) = start else {
        return "-".into();
    };
    let ms = (end.unwrap_or_else(Utc::now) - start)
        .num_milliseconds()
        .max(0);
    if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

fn row(e: &Execution, names: &HashMap<ActionId, String>) -> Row {
    let id = e.action_execution_id.to_string();
    Row {
        short_id: id[..8].to_string(),
        id,
        status: e.status.as_str().to_string(),
        action: names
            .get(&e.action_id)
            .cloned()
            .unwrap_or_else(|| e.action_id.to_string()),
        started: when(e.date_started),
        duration: took(Some(e.date_started), e.date_ended),
        notes: e.notes.clone().unwrap_or_default(),
    }
}

/// The rows the filters select, and the next page's cursor.
async fn rows(
    state: &AppState,
    at: &InProject,
    filters: &Filters,
    names: &HashMap<ActionId, String>,
) -> Result<(Vec<Row>, Option<String>), ApiError> {
    let filter = filters.filter()?;
    let found = state.store.list_executions(at.caller.scope, filter).await?;
    let (page, next) =
        actuate_shared::domain::paging::split_page(found, PAGE, ExecutionFilter::cursor_of);
    Ok((
        page.iter().map(|e| row(e, names)).collect(),
        next.map(|c| c.encode()),
    ))
}

async fn action_names(
    state: &AppState,
    at: &InProject,
) -> Result<
    (
        Vec<actuate_shared::domain::model::Action>,
        HashMap<ActionId, String>,
    ),
    ApiError,
> {
    let page = ActionPage {
        after: None,
        limit: 1000,
    };
    let actions = state.store.list_actions(at.caller.scope, page).await?;
    let names = actions
        .iter()
        .map(|a| (a.action_id, a.name.clone()))
        .collect();
    Ok((actions, names))
}

async fn chart_svg(state: &AppState, at: &InProject, range: Range) -> Result<String, ApiError> {
    let now = Utc::now();
    let counts = state
        .store
        .execution_counts(at.caller.scope, range.since(now), range.bucket())
        .await?;
    Ok(chart::svg(range, &counts, now))
}

pub async fn list(
    State(state): State<AppState>,
    at: InProject,
    Query(filters): Query<Filters>,
) -> Response {
    let range = Range::parse(Some(filters.range.as_str()));
    let (actions, names) = match action_names(&state, &at).await {
        Ok(found) => found,
        Err(e) => return error_page(e),
    };
    let chart = match chart_svg(&state, &at, range).await {
        Ok(svg) => svg,
        Err(e) => return error_page(e),
    };
    let (executions, next, error) = match rows(&state, &at, &filters, &names).await {
        Ok((rows, next)) => (rows, next, None),
        Err(e @ ApiError::BadRequest(_)) => (Vec::new(), None, Some(e.to_string())),
        Err(e) => return error_page(e),
    };
    render::page(
        "executions.html",
        context! {
            signed_in => true, csrf => at.viewer.csrf, project => at.project(),
            actions, executions, next, error, chart, range => range.name(),
            query => filters.query(), filters,
        },
    )
}

pub async fn list_rows(
    State(state): State<AppState>,
    at: InProject,
    Query(filters): Query<Filters>,
) -> Response {
    let listed = async {
        let (_, names) = action_names(&state, &at).await?;
        rows(&state, &at, &filters, &names).await
    };
    match listed.await {
        Ok((executions, next)) => render::page(
            "execution_rows.html",
            context! { project => at.project(), executions, next, query => filters.query() },
        ),
        Err(e) => error_page(e),
    }
}

#[derive(Deserialize)]
pub struct ChartQuery {
    range: Option<String>,
}

pub async fn chart(
    State(state): State<AppState>,
    at: InProject,
    Query(q): Query<ChartQuery>,
) -> Response {
    match chart_svg(&state, &at, Range::parse(q.range.as_deref())).await {
        Ok(svg) => axum::response::Html(svg).into_response(),
        Err(e) => error_page(e),
    }
}
