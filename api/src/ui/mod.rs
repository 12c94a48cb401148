//! The web dashboard at `/ui`: server-rendered pages (minijinja templates compiled into the
//! binary), one small script of our own that re-reads the live parts, no CDN and no Node
//! toolchain. Forms post and redirect, so everything works with the keyboard and without the
//! script.
//!
//! - `session`: signing in with an API key, the session cookie, CSRF and read-only checks.
//! - `actions`: projects, the action list, an action (execute, enable, disable).
//! - `executions`: the filtered list and its chart.
//! - `execution`: one execution's timeline, outputs, logs and errors (cancel, re-run).
//! - `chart`: the SVG of executions per minute by status.
//! - `render`: templates and static assets.
//!
//! Every change goes through the same functions as the API's routes, so limits, validation
//! and the audit log apply alike.

mod actions;
mod chart;
mod execution;
mod executions;
mod render;
mod session;

use crate::startup::AppState;
use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ui", get(actions::home))
        .route("/ui/", get(actions::home))
        .route(
            "/ui/static/{name}",
            get(|Path(name): Path<String>| async move { render::asset(&name) }),
        )
        .route("/ui/login", get(session::login_page).post(session::login))
        .route("/ui/logout", post(session::logout))
        .route("/ui/projects", get(actions::projects))
        .route("/ui/projects/open", get(actions::open_project))
        .route("/ui/p/{project}/actions", get(actions::list))
        .route("/ui/p/{project}/actions/{action}", get(actions::detail))
        .route(
            "/ui/p/{project}/actions/{action}/execute",
            post(actions::execute),
        )
        .route(
            "/ui/p/{project}/actions/{action}/enable",
            post(actions::enable),
        )
        .route(
            "/ui/p/{project}/actions/{action}/disable",
            post(actions::disable),
        )
        .route("/ui/p/{project}/executions", get(executions::list))
        .route(
            "/ui/p/{project}/executions/rows",
            get(executions::list_rows),
        )
        .route("/ui/p/{project}/executions/chart", get(executions::chart))
        .route(
            "/ui/p/{project}/executions/{execution}",
            get(execution::detail),
        )
        .route(
            "/ui/p/{project}/executions/{execution}/body",
            get(execution::body),
        )
        .route(
            "/ui/p/{project}/executions/{execution}/cancel",
            post(execution::cancel),
        )
        .route(
            "/ui/p/{project}/executions/{execution}/rerun",
            post(execution::rerun),
        )
}
