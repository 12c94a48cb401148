//! One router per resource, merged in [`router`]; the JSON fallbacks for unknown paths and
//! methods live here too. Each handler's `#[utoipa::path]` both routes it and documents it:
//! the OpenAPI document is built from the same list as the router.

pub(crate) mod actions;
mod audit;
pub(crate) mod control;
pub(crate) mod execute;
pub(crate) mod executions;
mod health;
mod history;
mod paths;
mod secrets;

pub use audit::TARGET_ID_MAX_CHARS;
pub use control::BULK_LIMIT;
pub use execute::IDEMPOTENCY_KEY_MAX;

use crate::error::ApiError;
use crate::startup::AppState;
use axum::Router;
use axum::http::{Method, Uri};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;

/// Every documented route, and the OpenAPI document built from them.
fn documented() -> (Router<AppState>, Value) {
    let (routes, generated) = OpenApiRouter::new()
        .merge(actions::router())
        .merge(execute::router())
        .merge(executions::router())
        .merge(control::router())
        .merge(history::router())
        .merge(secrets::router())
        .merge(audit::router())
        .merge(health::router())
        .split_for_parts();
    (routes, crate::openapi::document(generated))
}

/// The OpenAPI document, as `/openapi.json` serves it.
pub fn document() -> Value {
    documented().1
}

/// Every route, matched after [`paths::canonical`] has lowercased the fixed segments (a layer
/// on a router runs after its routing, so the routes sit behind one fallback).
pub fn router(state: AppState) -> Router {
    let (routes, document) = documented();
    let routes = routes
        .merge(health::docs_page())
        .layer(axum::Extension(health::Document::new(&document)))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone());
    let api = Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::map_request(paths::canonical));
    // The dashboard's own routes first; every other path goes to the API as before.
    Router::new()
        .merge(crate::ui::router().with_state(state))
        .fallback_service(api)
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("method {method} is not allowed on {}", uri.path()))
}

/// The documented ping answers, shared by `/action` and `/actionexecution`: they prove the
/// service is up and (for the first) that the caller's key works for the tenant.
async fn ping(caller: crate::extract::Caller) -> String {
    format!("Ping Successful (tenant id: {})", caller.scope.tenant_id)
}

async fn unauthorized_ping() -> &'static str {
    "Ping Successful"
}
