//! Unauthenticated operational endpoints: liveness, readiness, metrics and the OpenAPI
//! document.

use crate::error::ApiError;
use crate::startup::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
}

/// OpenAPI 3.1 of every endpoint, written by hand next to the code (`api/openapi.json`); the
/// integration tests validate it and check that each operation it lists is routed.
const OPENAPI: &str = include_str!("../../openapi.json");

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready when the database answers. The broker's state is reported but does not make the API
/// unready: execute requests are recorded in the outbox and published once the broker is back,
/// so taking API replicas out of service during a broker outage would only turn a delay into
/// errors.
async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?;
    let broker = if state.relay.broker_up() {
        "ok"
    } else {
        "unreachable"
    };
    Ok(Json(
        json!({ "status": "ready", "database": "ok", "broker": broker }),
    ))
}

async fn metrics() -> String {
    actuate_shared::telemetry::metrics_handle().render()
}
