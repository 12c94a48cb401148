//! Pages from templates: minijinja with the templates and assets compiled into the binary
//! (nothing is read from disk or fetched from elsewhere at run time). `.html` templates
//! escape every value, so nothing a caller stored (an action's name, a step's output) can
//! inject markup.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;
use std::sync::OnceLock;

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("login.html", include_str!("templates/login.html")),
    ("projects.html", include_str!("templates/projects.html")),
    ("actions.html", include_str!("templates/actions.html")),
    ("action.html", include_str!("templates/action.html")),
    ("executions.html", include_str!("templates/executions.html")),
    (
        "execution_rows.html",
        include_str!("templates/execution_rows.html"),
    ),
    ("execution.html", include_str!("templates/execution.html")),
    (
        "execution_body.html",
        include_str!("templates/execution_body.html"),
    ),
    ("message.html", include_str!("templates/message.html")),
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.add_filter("when", when);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name}: {e}"));
        }
        env
    })
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM:SS` (UTC), `-` for none.
fn when(value: Option<String>) -> String {
    value
        .as_deref()
        .and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok())
        .map(|t| super::executions::when(t.with_timezone(&chrono::Utc)))
        .unwrap_or_else(|| "-".into())
}

/// `template` rendered with `context`, as a page (or a fragment) of HTML.
pub fn page(template: &str, context: impl Serialize) -> Response {
    match environment()
        .get_template(template)
        .and_then(|t| t.render(context))
    {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            tracing::error!(template, error = %e, "a dashboard template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A short page saying what went wrong, with `status`.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let mut response = page(
        "message.html",
        minijinja::context! { title, text, signed_in => false },
    );
    *response.status_mut() = status;
    response
}

/// The stylesheet and the script, cached for an hour.
pub fn asset(name: &str) -> Response {
    let (body, kind) = match name {
        "app.css" => (include_str!("static/app.css"), "text/css; charset=utf-8"),
        "app.js" => (
            include_str!("static/app.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        super::environment();
    }
}
