//! A project's secrets (`/secret`, `/secret/{name}`) and its webhook signing secret
//! (`/webhooksecret`, `/webhooksecret/rotate`). Secret values go in and never come out: a list
//! shows names and dates. Sealing and opening happen in the [`Vault`](actuate_shared::vault).

use crate::audit;
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody, ObjectShape};
use crate::openapi::markers::{SecretNotFound, SecretPut, SecretsOff};
use crate::startup::AppState;
use actuate_shared::domain::audit::AuditAction;
use actuate_shared::domain::secrets::{SecretName, SecretValue};
use actuate_shared::storage::SecretInfo;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(put, remove))
        .routes(routes!(webhook_secret))
        .routes(routes!(rotate_webhook_secret))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutBody {
    value: String,
}

impl ObjectShape for PutBody {}

/// The project's secrets: names and dates, never values.
#[derive(Serialize, utoipa::ToSchema)]
struct SecretList {
    secrets: Vec<SecretInfo>,
}

/// A webhook signing secret, to configure receivers with.
#[derive(Serialize, utoipa::ToSchema)]
struct WebhookSecret {
    /// `whsec_` and base64: the key of the HMAC-SHA256 signatures in `webhook-signature`.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    secret: String,
}

fn secret_name(name: &str) -> Result<SecretName, ApiError> {
    SecretName::parse(name).map_err(|e| ApiError::BadRequest(format!("name: {e}")))
}

/// List secrets (extension)
///
/// The project's secrets by name, with when each was created and last set. Values are never
/// returned.
#[utoipa::path(
    get, path = "/api/{tenantId}/{projectId}/secret", operation_id = "listSecrets",
    tag = "Secrets", security(("bearerAuth" = [])),
    responses((status = 200, description = "The project's secrets.", body = SecretList))
)]
async fn list(caller: Caller, State(state): State<AppState>) -> Result<Json<SecretList>, ApiError> {
    let secrets = state.store.list_secrets(caller.scope).await?;
    Ok(Json(SecretList { secrets }))
}

/// Set a secret (extension)
///
/// Creates the secret or replaces its value. Steps use it as `{{ secrets.NAME }}` in email and
/// webhook templates and as `secrets["NAME"]` in Python. The value is encrypted at rest and
/// never returned; wherever a step's output, log or error would show it, `[redacted]` is
/// shown instead.
#[utoipa::path(
    put, path = "/api/{tenantId}/{projectId}/secret/{name}", operation_id = "putSecret",
    tag = "Secrets", security(("bearerAuth" = [])),
    request_body = SecretPut,
    responses(
        (status = 201, description = "Created.", body = SecretInfo),
        (status = 200, description = "Replaced.", body = SecretInfo),
        (status = 409, response = SecretsOff),
    )
)]
async fn put(
    caller: Caller,
    Path((_, _, name)): Path<(String, String, String)>,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PutBody>,
) -> Result<(StatusCode, Json<SecretInfo>), ApiError> {
    let name = secret_name(&name)?;
    let value =
        SecretValue::parse(body.value).map_err(|e| ApiError::BadRequest(format!("value: {e}")))?;
    let (created, info) = state.vault.put(caller.scope, &name, &value).await?;
    tracing::info!(secret = %name, created, "secret set");
    let summary = if created { "created" } else { "value replaced" };
    audit::record(
        &*state.store,
        caller.audit(AuditAction::SecretSet, name.to_string(), summary),
    )
    .await;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(info)))
}

/// Delete a secret (extension)
///
/// Steps that still use it fail from now on, with a note naming it.
#[utoipa::path(
    delete, path = "/api/{tenantId}/{projectId}/secret/{name}", operation_id = "deleteSecret",
    tag = "Secrets", security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Deleted; empty body."),
        (status = 404, response = SecretNotFound),
    )
)]
async fn remove(
    caller: Caller,
    Path((_, _, name)): Path<(String, String, String)>,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    let name = secret_name(&name)?;
    if state.store.delete_secret(caller.scope, &name).await? {
        tracing::info!(secret = %name, "secret deleted");
        audit::record(
            &*state.store,
            caller.audit(AuditAction::SecretDelete, name.to_string(), "deleted"),
        )
        .await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("secret {name} not found")))
    }
}

/// Get the webhook signing secret (extension)
///
/// The secret outgoing webhooks of this project are signed with (Standard Webhooks:
/// `webhook-id`, `webhook-timestamp`, `webhook-signature`); made on first use.
#[utoipa::path(
    get, path = "/api/{tenantId}/{projectId}/webhooksecret", operation_id = "getWebhookSecret",
    tag = "Secrets", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The current signing secret.", body = WebhookSecret),
        (status = 409, response = SecretsOff),
    )
)]
async fn webhook_secret(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<WebhookSecret>, ApiError> {
    let secrets = state
        .vault
        .signing_secrets(caller.scope, Some(caller.key_id))
        .await?;
    let current = secrets.first().ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!("no signing secret after creating one"))
    })?;
    Ok(Json(WebhookSecret {
        secret: current.expose().to_string(),
    }))
}

/// Rotate the webhook signing secret (extension)
///
/// Makes a new signing secret and answers it. For 24 hours the replaced secret keeps signing
/// too (`webhook-signature` then holds both signatures), so receivers can switch without
/// rejecting a request.
#[utoipa::path(
    post, path = "/api/{tenantId}/{projectId}/webhooksecret/rotate",
    operation_id = "rotateWebhookSecret", tag = "Secrets", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The new signing secret.", body = WebhookSecret),
        (status = 409, response = SecretsOff),
    )
)]
async fn rotate_webhook_secret(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<WebhookSecret>, ApiError> {
    let secret = state.vault.rotate_signing_secret(caller.scope).await?;
    tracing::info!("webhook signing secret rotated");
    audit::record(
        &*state.store,
        caller.audit(
            AuditAction::WebhookSecretRotate,
            "webhooksecret",
            "rotated; the replaced secret keeps signing for 24 hours",
        ),
    )
    .await;
    Ok(Json(WebhookSecret {
        secret: secret.expose().to_string(),
    }))
}
