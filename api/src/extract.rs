//! Request extractors that answer in the API's JSON error shape (axum's own rejections are
//! plain text with other statuses): the JSON body, path ids, and the authenticated caller.

use crate::error::ApiError;
use crate::startup::AppState;
use actuate_shared::auth::Token;
use actuate_shared::ids::{ActionId, ExecutionId, KeyId, ProjectId, Scope, TenantId};
use actuate_shared::names::EventName;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::str::FromStr;

/// The most a request body may hold; larger bodies get 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A JSON request body. Wrong content type → 415; over [`BODY_LIMIT`] → 413; bad JSON or a
/// wrong type → 400 naming the field (`steps[0].stepNumber: invalid type ...`).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        let is_json = essence.eq_ignore_ascii_case("application/json")
            || (essence.starts_with("application/") && essence.ends_with("+json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(format!(
                "expected Content-Type: application/json, got '{}'",
                if content_type.is_empty() {
                    "none"
                } else {
                    content_type
                }
            )));
        }
        parse_json(&read_body(req, state).await?).map(JsonBody)
    }
}

/// The whole body, within [`BODY_LIMIT`] (413 beyond it).
async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|rejection| match rejection {
            BytesRejection::FailedToBufferBody(_) => {
                ApiError::PayloadTooLarge { limit: BODY_LIMIT }
            }
            other => ApiError::BadRequest(format!("could not read the request body: {other}")),
        })
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        ApiError::BadRequest(if path == "." {
            format!("invalid JSON body: {inner}")
        } else {
            format!("invalid JSON body at {path}: {inner}")
        })
    })?;
    de.end()
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    Ok(value)
}

/// Reads one named path parameter as a GUID.
async fn path_id<T: FromStr>(parts: &mut Parts, name: &str) -> Result<T, ApiError> {
    let params = RawPathParams::from_request_parts(parts, &())
        .await
        .map_err(|e| ApiError::BadRequest(format!("bad path: {e}")))?;
    let raw = params
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .ok_or_else(|| ApiError::BadRequest(format!("missing path parameter {name}")))?;
    raw.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "{name} '{}' is not a GUID",
            raw.chars().take(64).collect::<String>().escape_debug()
        ))
    })
}

/// An optional JSON body: an empty body (with any or no content type) is `None`; anything
/// else must be JSON, as for [`JsonBody`].
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let bytes = read_body(Request::from_parts(parts.clone(), body), state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        JsonBody::from_request(req, state)
            .await
            .map(|JsonBody(value)| Self(Some(value)))
    }
}

/// Query parameters, with errors in the API's JSON shape.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        axum::extract::Query::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|e| ApiError::BadRequest(format!("invalid query string: {}", e.body_text())))
    }
}

/// The `{actionExecutionId}` path segment.
pub struct ExecutionIdPath(pub ExecutionId);

impl<S: Send + Sync> FromRequestParts<S> for ExecutionIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        path_id(parts, "actionExecutionId")
            .await
            .map(ExecutionIdPath)
    }
}

/// The `{eventName}` path segment, checked as trigger names are ([`EventName`]).
pub struct EventNamePath(pub EventName);

impl<S: Send + Sync> FromRequestParts<S> for EventNamePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let params = RawPathParams::from_request_parts(parts, &())
            .await
            .map_err(|e| ApiError::BadRequest(format!("bad path: {e}")))?;
        let name = params
            .iter()
            .find(|(key, _)| *key == "eventName")
            .map_or("", |(_, value)| value);
        EventName::parse(name)
            .map(Self)
            .map_err(|e| ApiError::BadRequest(format!("eventName: {e}")))
    }
}

/// The `{actionId}` path segment.
pub struct ActionIdPath(pub ActionId);

impl<S: Send + Sync> FromRequestParts<S> for ActionIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        path_id(parts, "actionId").await.map(ActionIdPath)
    }
}

/// The authenticated caller of an `/api/{tenantId}/{projectId}/...` route: a valid, unrevoked
/// key whose tenant (and project, for a project-scoped key) is the one in the path.
/// Checks run in this order: token (401), path ids (400), tenancy (403).
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub scope: Scope,
    pub key_id: KeyId,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::Unauthorized("missing Authorization header"))?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::Unauthorized("malformed Authorization header"))?;
        let (scheme, credentials) = value.trim().split_once(' ').ok_or(ApiError::Unauthorized(
            "expected 'Authorization: Bearer <token>'",
        ))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::Unauthorized(
                "expected 'Authorization: Bearer <token>'",
            ));
        }
        let token = Token::parse(credentials.trim())
            .ok_or(ApiError::Unauthorized("malformed bearer token"))?;
        let key = state
            .store
            .find_api_key(token.hash())
            .await?
            .ok_or(ApiError::Unauthorized("unknown API key"))?;
        if key.revoked_at.is_some() {
            return Err(ApiError::Unauthorized("API key has been revoked"));
        }

        let tenant_id: TenantId = path_id(parts, "tenantId").await?;
        let project_id: ProjectId = path_id(parts, "projectId").await?;
        if key.tenant_id != tenant_id {
            return Err(ApiError::Forbidden(
                "this API key does not belong to this tenant",
            ));
        }
        if key.project_id.is_some_and(|p| p != project_id) {
            return Err(ApiError::Forbidden(
                "this API key does not belong to this project",
            ));
        }
        Ok(Caller {
            scope: Scope {
                tenant_id,
                project_id,
            },
            key_id: key.key_id,
        })
    }
}
