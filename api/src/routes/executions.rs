//! `/api/{tenantId}/{projectId}/actionexecution...`: execution history. For now only the two
//! documented pings; the history endpoints arrive with the execution pipeline.

use super::{ping, unauthorized_ping};
use crate::startup::AppState;
use axum::Router;
use axum::routing::get;

const BASE: &str = "/api/{tenantId}/{projectId}/actionexecution";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(&format!("{BASE}/ping"), get(ping))
        .route(&format!("{BASE}/unauthorized-ping"), get(unauthorized_ping))
}
