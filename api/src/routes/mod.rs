//! One router per resource, merged in [`router`]; the JSON fallbacks for unknown paths and
//! methods live here too.

mod actions;
mod executions;
mod health;
mod paths;

use crate::error::ApiError;
use crate::startup::AppState;
use axum::Router;
use axum::http::{Method, Uri};

/// Every route, matched after [`paths::canonical`] has lowercased the fixed segments (a layer
/// on a router runs after its routing, so the routes sit behind one fallback).
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(actions::router())
        .merge(executions::router())
        .merge(health::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::map_request(paths::canonical))
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
