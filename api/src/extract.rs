//! Request extractors that answer in the API's JSON error shape (axum's own rejections are
//! plain text with other statuses): the JSON body, path ids, and the authenticated caller.

use crate::error::ApiError;
use crate::startup::AppState;
use actuate_shared::domain::auth::Token;
use actuate_shared::domain::ids::{ActionId, ExecutionId, KeyId, ProjectId, Scope, TenantId};
use actuate_shared::domain::names::EventName;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::Method;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::str::FromStr;

/// The most a request body may hold; larger bodies get 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A JSON request body. Wrong content type → 415; over [`BODY_LIMIT`] → 413; bad JSON or a
/// wrong type → 400 naming the field (`steps[0].stepNumber: invalid type ...`).
pub struct JsonBody<T>(pub T);

/// Where a request body must hold JSON objects. serde reads a struct from a JSON array of its
/// fields' values in declaration order (`["Daily", null, ...]`) as readily as from an object;
/// the API documents its bodies as objects, so an array (or anything else) in the place of one
/// is a 400 naming where.
pub trait ObjectShape {
    /// Whether the whole body must be an object.
    const ROOT_IS_OBJECT: bool = true;
    /// Top-level fields holding, when given, a list of objects (`steps`, `triggers`).
    const OBJECT_LISTS: &'static [&'static str] = &[];
}

/// A body that may be any JSON value (an event's input).
impl ObjectShape for serde_json::Value {
    const ROOT_IS_OBJECT: bool = false;
}

/// Checks `bytes` against `T`'s [`ObjectShape`]. The structure alone is read: values are
/// skipped unparsed, so whatever else is wrong with them is left to `T`'s own deserializer,
/// which names the field. `Err(None)` when the bytes could not be read this way (bad JSON):
/// `T`'s deserializer then says what is wrong.
fn check_shape<T: ObjectShape>(bytes: &[u8]) -> Result<(), Option<ApiError>> {
    if !T::ROOT_IS_OBJECT {
        return Ok(());
    }
    let shape = shape::Root::read(bytes, T::OBJECT_LISTS).map_err(|_| None)?;
    if !shape.is_object {
        return Err(Some(ApiError::BadRequest(
            "invalid JSON body: must be a JSON object".into(),
        )));
    }
    if let Some((field, i)) = shape.first_non_object {
        return Err(Some(ApiError::BadRequest(format!(
            "invalid JSON body at {field}[{i}]: must be a JSON object"
        ))));
    }
    Ok(())
}

/// Reading a body's structure without its values (see [`check_shape`]).
mod shape {
    use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    /// What was found at the root, or at an entry of a list (whose own lists are not looked at).
    pub struct Root {
        pub is_object: bool,
        /// The first entry of one of the lists that is not an object: (list, index).
        pub first_non_object: Option<(&'static str, usize)>,
    }

    impl Root {
        pub fn read(bytes: &[u8], lists: &'static [&'static str]) -> serde_json::Result<Self> {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let root = Node(lists).deserialize(&mut de)?;
            de.end()?;
            Ok(root)
        }
    }

    /// Visits one JSON value; in an object, the values of `self.0`'s keys are read as lists.
    struct Node(&'static [&'static str]);

    /// Visits a list's value: the index of its first entry that is not an object. Anything but
    /// a list (`null` included) is skipped: its type error is the deserializer's to report.
    struct List;

    /// Scalars are never objects and lists have no entries to look at.
    macro_rules! scalars {
        ($value:expr) => {
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok($value)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok($value)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok($value)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok($value)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok($value)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok($value)
            }
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
        };
    }

    const NOT_AN_OBJECT: Root = Root {
        is_object: false,
        first_non_object: None,
    };

    impl<'de> DeserializeSeed<'de> for Node {
        type Value = Root;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Root, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Node {
        type Value = Root;
        scalars!(NOT_AN_OBJECT);

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Root, A::Error> {
            let mut first_non_object = None;
            while let Some(key) = map.next_key::<String>()? {
                match self.0.iter().find(|list| **list == key) {
                    Some(list) => {
                        let first = map.next_value_seed(List)?;
                        first_non_object = first_non_object.or(first.map(|i| (*list, i)));
                    }
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(Root {
                is_object: true,
                first_non_object,
            })
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Root, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(NOT_AN_OBJECT)
        }
    }

    impl<'de> DeserializeSeed<'de> for List {
        type Value = Option<usize>;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for List {
        type Value = Option<usize>;
        scalars!(None);

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<usize>, A::Error> {
            let mut first = None;
            let mut i = 0;
            while let Some(entry) = seq.next_element_seed(Node(&[]))? {
                if !entry.is_object && first.is_none() {
                    first = Some(i);
                }
                i += 1;
            }
            Ok(first)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<usize>, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned + ObjectShape> FromRequest<S> for JsonBody<T> {
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

/// Reads a body into `T`: its shape first ([`ObjectShape`]), then `T` itself, so that every
/// serde check (types, ranges, duplicate fields) applies as written and names the field.
pub fn parse_json<T: DeserializeOwned + ObjectShape>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Err(Some(error)) = check_shape::<T>(bytes) {
        return Err(error);
    }
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

impl<S: Send + Sync, T: DeserializeOwned + ObjectShape> FromRequest<S> for OptionalJsonBody<T> {
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

/// Whether a request needs a read-write key: every method but GET and HEAD, the documented
/// GET that executes an action, and the GET of the webhook signing secret (whoever holds it
/// can sign webhooks that receivers trust, and its first read makes it).
fn mutates(parts: &Parts) -> bool {
    if !matches!(parts.method, Method::GET | Method::HEAD) {
        return true;
    }
    parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .is_some_and(|path| {
            let path = path.as_str();
            path.ends_with("/action/execute/{actionId}") || path.ends_with("/webhooksecret")
        })
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
        // Checked here, with who may call, so that no route can forget it.
        if key.read_only && mutates(parts) {
            return Err(ApiError::Forbidden(
                "this API key is read-only: it may only read (GET)",
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
