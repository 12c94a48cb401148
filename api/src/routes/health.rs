//! Unauthenticated operational endpoints: liveness, readiness, metrics, the OpenAPI document
//! and its reference page.

use crate::error::ApiError;
use crate::startup::AppState;
use axum::extract::{Extension, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::{Config, SwaggerUi};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi))
}

/// The document, serialised once when the router is built.
#[derive(Clone)]
pub struct Document(Arc<str>);

impl Document {
    pub fn new(document: &Value) -> Self {
        Self(document.to_string().into())
    }
}

/// This OpenAPI document
#[utoipa::path(
    get, path = "/openapi.json", operation_id = "getOpenApiDocument", tag = "Operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.",
        body = Object, content_type = "application/json"))
)]
async fn openapi(Extension(Document(document)): Extension<Document>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document.to_string(),
    )
}

/// `/docs`: Swagger UI on `/openapi.json`. Its files are compiled into the binary (the
/// `vendored` feature of utoipa-swagger-ui), so the page loads nothing from elsewhere. It is a
/// page for people, so it is not an operation of the document.
pub fn docs_page() -> Router<AppState> {
    SwaggerUi::new("/docs")
        .config(Config::new(["/openapi.json"]).try_it_out_enabled(true))
        .into()
}

/// Liveness: the process is alive
#[utoipa::path(
    get, path = "/healthz", operation_id = "getHealth", tag = "Operations",
    responses((status = 200, description = "Alive.", body = ref("#/components/schemas/Health"),
        content_type = "application/json", example = json!({"status": "ok"})))
)]
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database is reachable
///
/// Ready when the database answers. The broker's state is reported but does not make the API
/// unready: execute requests are recorded in the outbox and published once the broker is back,
/// so taking API replicas out of service during a broker outage would only turn a delay into
/// errors.
#[utoipa::path(
    get, path = "/readyz", operation_id = "getReadiness", tag = "Operations",
    responses(
        (status = 200, description = "Ready. The broker's state is reported but does not make the API unready.",
            body = ref("#/components/schemas/Readiness"), content_type = "application/json",
            example = json!({"status": "ready", "database": "ok", "broker": "ok"})),
        (status = 503, description = "The database is not reachable.",
            body = ref("#/components/schemas/Error"), content_type = "application/json",
            example = json!({"error": "service unavailable"})),
    )
)]
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

/// Prometheus metrics
#[utoipa::path(
    get, path = "/metrics", operation_id = "getMetrics", tag = "Operations",
    responses((status = 200, description = "Metrics in the Prometheus text exposition format.",
        body = String))
)]
async fn metrics() -> String {
    actuate_shared::telemetry::metrics_handle().render()
}
