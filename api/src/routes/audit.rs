//! The audit log of a project: `GET /audit`, newest first, paged by cursor like the execution
//! history, filtered by target, kind of change and time. There is no route that changes it.

use super::history::{parsed, window};
use crate::error::ApiError;
use crate::extract::{Caller, QueryParams};
use crate::startup::AppState;
use actuate_shared::domain::audit::{AuditAction, AuditEntry};
use actuate_shared::domain::ids::AuditId;
use actuate_shared::domain::paging::{self, Cursor};
use actuate_shared::storage::AuditFilter;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The longest `targetId` asked for: longer than any id or name an entry can have.
pub const TARGET_ID_MAX_CHARS: usize = 200;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
struct AuditQuery {
    target_id: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct AuditList {
    items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// List the audit log (extension)
///
/// Every change made through the API (actions created, updated, deleted, enabled, disabled;
/// executions created, cancelled, re-run; events raised; secrets set and deleted; the webhook
/// secret rotated) and by operator commands (keys created and revoked), newest first: when,
/// by which key (null for an operator), on what, and a short summary. Entries of the whole
/// tenant (a key of every project) are listed with each project's. Paged: `nextCursor` names
/// the next page. Unknown query parameters are a 400.
#[utoipa::path(
    get, path = "/api/{tenantId}/{projectId}/audit", operation_id = "listAudit",
    tag = "Audit", security(("bearerAuth" = [])),
    params(AuditQuery),
    responses((status = 200, description = "The entries, newest first.", body = AuditList))
)]
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<Json<AuditList>, ApiError> {
    let limit =
        paging::page_size(query.limit).map_err(|e| ApiError::BadRequest(format!("limit: {e}")))?;
    let (since, until) = window(query.since, query.until)?;
    let target_id = parsed("targetId", query.target_id, |t| match t.chars().count() {
        0 => Err("must not be empty".to_string()),
        n if n > TARGET_ID_MAX_CHARS => {
            Err(format!("must be at most {TARGET_ID_MAX_CHARS} characters"))
        }
        _ => Ok(t.to_string()),
    })?;
    let filter = AuditFilter {
        target_id,
        action: parsed("action", query.action, str::parse::<AuditAction>)?,
        since,
        until,
        after: parsed("cursor", query.cursor, str::parse::<Cursor<AuditId>>)?,
        // One more than asked tells whether another page follows.
        limit: limit + 1,
    };
    let items = state.store.list_audit(caller.scope, filter).await?;
    let (items, next) = paging::split_page(items, limit, |e: &AuditEntry| Cursor {
        at: e.at,
        id: e.audit_id,
    });
    Ok(Json(AuditList {
        items,
        next_cursor: next.map(|c| c.encode()),
    }))
}
