//! Unauthenticated operational endpoints: liveness and readiness.

use crate::error::ApiError;
use crate::startup::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
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
