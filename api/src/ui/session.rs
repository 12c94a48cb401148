//! Signing in and out, and who is signed in. A sign-in checks the API key once and stores a
//! session (by the SHA-256 of its random id, with the key's token hash and a CSRF token); the
//! browser holds only the id, in an HttpOnly, SameSite=Strict cookie scoped to `/ui` (Secure
//! when the request came over TLS, as a proxy's `X-Forwarded-Proto` says). Every request reads
//! the session and the key again, so revoking the key or signing out ends it at once. Forms
//! carry the session's CSRF token and are refused from another origin.

use super::render;
use crate::extract::Caller;
use crate::startup::AppState;
use actuate_shared::domain::auth::{ApiKey, Token, TokenHash};
use actuate_shared::domain::ids::{ProjectId, Scope};
use actuate_shared::storage::UiSession;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

const COOKIE: &str = "actuate_session";
/// How long a session lasts from its sign-in.
const LIFETIME: chrono::Duration = chrono::Duration::hours(12);

/// The signed-in key, and its session.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub key: ApiKey,
    pub csrf: String,
    session: TokenHash,
}

/// A signed-in key inside one project of its tenant (`/ui/p/{project}/...`).
#[derive(Clone, Debug)]
pub struct InProject {
    pub viewer: Viewer,
    pub caller: Caller,
}

impl InProject {
    pub fn project(&self) -> ProjectId {
        self.caller.scope.project_id
    }
}

fn random_text(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::fill(&mut buffer[..]);
    URL_SAFE_NO_PAD.encode(buffer)
}

fn hash(id: &str) -> TokenHash {
    TokenHash::of(id)
}

fn unavailable() -> Response {
    render::message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Storage unavailable",
        "The database does not answer; try again in a moment.",
    )
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = axum_extra::extract::CookieJar::from_headers(&parts.headers);
        let sign_in = || Redirect::to("/ui/login").into_response();
        let Some(id) = jar.get(COOKIE).map(|c| c.value().to_string()) else {
            return Err(sign_in());
        };
        let session = hash(&id);
        let Some(stored) = state
            .store
            .find_ui_session(session)
            .await
            .map_err(|_| unavailable())?
        else {
            return Err(sign_in());
        };
        let key = state
            .store
            .find_api_key(stored.token_hash)
            .await
            .map_err(|_| unavailable())?
            .filter(|k| k.revoked_at.is_none());
        match key {
            Some(key) => Ok(Viewer {
                key,
                csrf: stored.csrf,
                session,
            }),
            None => Err(sign_in()),
        }
    }
}

impl FromRequestParts<AppState> for InProject {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let project: ProjectId = params
            .iter()
            .find(|(name, _)| *name == "project")
            .and_then(|(_, value)| value.parse().ok())
            .ok_or_else(|| {
                render::message(
                    StatusCode::NOT_FOUND,
                    "No such project",
                    "That is not a project id.",
                )
            })?;
        if viewer.key.project_id.is_some_and(|p| p != project) {
            return Err(render::message(
                StatusCode::FORBIDDEN,
                "Another project",
                "This API key belongs to another project.",
            ));
        }
        let caller = Caller {
            scope: Scope {
                tenant_id: viewer.key.tenant_id,
                project_id: project,
            },
            key_id: viewer.key.key_id,
        };
        Ok(InProject { viewer, caller })
    }
}

impl Viewer {
    /// Whether a form lacks this session's token or comes from another origin.
    fn forged(&self, headers: &HeaderMap, csrf: &str) -> bool {
        !bool::from(self.csrf.as_bytes().ct_eq(csrf.as_bytes())) || !same_origin(headers)
    }

    /// The refusal of a form that does not carry this session's token, comes from another
    /// origin, or asks a read-only key to change something; `None` when it may go on.
    pub fn refuse_form(&self, headers: &HeaderMap, csrf: &str) -> Option<Response> {
        if self.forged(headers, csrf) {
            return Some(render::message(
                StatusCode::FORBIDDEN,
                "Form refused",
                "This form is stale or came from another site; reload the page and try again.",
            ));
        }
        if self.key.read_only {
            return Some(render::message(
                StatusCode::FORBIDDEN,
                "Read-only key",
                "This API key is read-only: it may look, not change.",
            ));
        }
        None
    }
}

/// No `Origin` (older browsers send none), or one naming the host the browser asked for: the
/// `Host` header, or behind a proxy that rewrites it, the proxy's `X-Forwarded-Host`.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let Some((_, origin_host)) = origin.split_once("://") else {
        return false;
    };
    [header::HOST.as_str(), "x-forwarded-host"]
        .iter()
        .filter_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
        .any(|host| host.eq_ignore_ascii_case(origin_host))
}

/// Whether the browser reached us over TLS (through a proxy that says so).
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The session cookie: no Max-Age (it ends with the browser; the server ends the session
/// after its lifetime anyway), or its removal.
fn cookie(value: String, headers: &HeaderMap, remove: bool) -> String {
    let mut cookie = Cookie::build((COOKIE, value))
        .path("/ui")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(over_tls(headers))
        .build();
    if remove {
        cookie.make_removal();
    }
    cookie.to_string()
}

pub async fn login_page() -> Response {
    render::page("login.html", minijinja::context! { signed_in => false })
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    token: String,
}

pub async fn login(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let refused = |error: &str| {
        let mut response = render::page(
            "login.html",
            minijinja::context! { signed_in => false, error },
        );
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response
    };
    if !same_origin(&headers) {
        return refused("This sign-in came from another site.");
    }
    let Some(token) = Token::parse(form.token.trim()) else {
        return refused("That is not an API key (they start with act_).");
    };
    let key = match state.store.find_api_key(token.hash()).await {
        Ok(key) => key,
        Err(_) => return unavailable(),
    };
    let Some(key) = key.filter(|k| k.revoked_at.is_none()) else {
        return refused("Unknown or revoked API key.");
    };
    let id = random_text(32);
    let session = UiSession {
        token_hash: token.hash(),
        csrf: random_text(24),
        expires_at: chrono::Utc::now() + LIFETIME,
    };
    if state
        .store
        .create_ui_session(hash(&id), session)
        .await
        .is_err()
    {
        return unavailable();
    }
    tracing::info!(key_id = %key.key_id, tenant_id = %key.tenant_id, "dashboard sign-in");
    let target = match key.project_id {
        Some(project) => format!("/ui/p/{project}/actions"),
        None => "/ui/projects".to_string(),
    };
    (
        [(header::SET_COOKIE, cookie(id, &headers, false))],
        Redirect::to(&target),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

pub async fn logout(
    axum::extract::State(state): axum::extract::State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    // Signing out is allowed to read-only keys too: only the token and the origin count.
    if viewer.forged(&headers, &form.csrf) {
        return render::message(
            StatusCode::FORBIDDEN,
            "Form refused",
            "Reload the page and try again.",
        );
    }
    if state.store.delete_ui_session(viewer.session).await.is_err() {
        return unavailable();
    }
    (
        [(header::SET_COOKIE, cookie(String::new(), &headers, true))],
        Redirect::to("/ui/login"),
    )
        .into_response()
}
