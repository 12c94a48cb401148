//! Webhook steps: one HTTP request through a client that refuses private destinations (see
//! `net_guard`), follows no redirects and ignores proxy variables. A non-2xx answer fails the
//! step; the status and the (size-capped) body become its output either way.
//!
//! Every request is signed per Standard Webhooks (see
//! [`actuate_shared::domain::webhook_signing`]) with the project's live signing secrets, and
//! its `webhook-id` is the same at every attempt of the step, so receivers can drop repeats.

use super::templating::Templates;
use super::{StepContext, StepFailure, StepSuccess};
use crate::net_guard::NetGuard;
use actuate_shared::domain::ids::Scope;
use actuate_shared::domain::step_settings::WebhookSettings;
use actuate_shared::domain::webhook_signing::{self, SigningSecret};
use actuate_shared::storage::ClaimedStep;
use actuate_shared::telemetry;
use actuate_shared::vault::{ProjectSecrets, Vault, VaultError};
use futures_util::StreamExt;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Url};
use serde_json::{Value, json};
use std::time::Duration;

/// The most of a response body kept in the step's output.
pub const RESPONSE_CAP: usize = 64 * 1024;
const DEFAULT_TIMEOUT: Duration =
    Duration::from_secs(actuate_shared::domain::step_settings::WEBHOOK_TIMEOUT_DEFAULT_SECONDS);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct WebhookRunner {
    guard: NetGuard,
    client: reqwest::Client,
}

impl WebhookRunner {
    pub fn new(guard: NetGuard) -> anyhow::Result<Self> {
        let client = guard.http_client(CONNECT_TIMEOUT)?;
        Ok(Self { guard, client })
    }

    pub async fn run(
        &self,
        settings: &WebhookSettings,
        step: &ClaimedStep,
        context: &StepContext<'_>,
        secrets: &ProjectSecrets,
        vault: &Vault,
    ) -> Result<StepSuccess, StepFailure> {
        let templates = Templates::new(context, secrets);
        let url = templates.render("url", &settings.url)?;
        let url = Url::parse(&url).map_err(|e| StepFailure::new(format!("url: {e}")))?;
        self.guard.check_url(&url).map_err(StepFailure::new)?;
        let method = settings.method.as_deref().unwrap_or("POST");
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| StepFailure::new(format!("method '{method}' is not valid")))?;
        let timeout = settings
            .timeout_seconds
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TIMEOUT);

        let mut headers = HeaderMap::new();
        for (name, value) in &settings.headers {
            let value = templates.render(
                &format!("headers.{name}"),
                value.as_str().unwrap_or_default(),
            )?;
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| StepFailure::new(format!("header name '{name}' is not valid")))?;
            // A rendered value with a line break (or other control character) is refused
            // here: templates never reach a header unescaped.
            let value = HeaderValue::from_str(&value)
                .map_err(|_| StepFailure::new(format!("header {name} has an invalid value")))?;
            headers.insert(name, value);
        }
        // Lets receivers recognise a retried delivery of the same step.
        let execution_id = context.execution.fence.execution_id.to_string();
        headers.insert(
            "x-actuate-execution-id",
            HeaderValue::from_str(&execution_id).expect("uuid"),
        );
        headers.insert("x-actuate-step", HeaderValue::from(step.step_number));
        // The step's span, so the receiver's spans join the execution's trace (unless the
        // step's own headers name a traceparent).
        if let Some(parent) = telemetry::trace_parent(&tracing::Span::current())
            && let Ok(value) = HeaderValue::from_str(&parent)
        {
            headers.entry(telemetry::TRACEPARENT).or_insert(value);
        }

        let body = settings
            .body
            .as_ref()
            .map(|b| templates.render_json("body", b))
            .transpose()?;
        let (content_type, body) = match body {
            None | Some(Value::Null) => (None, String::new()),
            Some(Value::String(text)) => (Some("text/plain; charset=utf-8"), text),
            Some(other) => (Some("application/json"), other.to_string()),
        };
        if let Some(content_type) = content_type
            && !headers.contains_key(CONTENT_TYPE)
        {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        let signing = signing_secrets(vault, context.execution.fence.scope).await?;
        sign(&mut headers, &signing, context, step, body.as_bytes());
        let mut request = self
            .client
            .request(method, url)
            .headers(headers)
            .timeout(timeout);
        if content_type.is_some() {
            request = request.body(body);
        }

        let response = request.send().await.map_err(|e| failure(&e, timeout))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, chrono::Utc::now()));
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let (bytes, truncated) = read_capped(response, timeout).await?;
        // Redacted before anything is cut from it (the cap, the snippet below): a secret the
        // receiver echoes must not survive as a cut-off piece. `steps::run` redacts the rest.
        let redactor = secrets.redactor();
        let text = String::from_utf8_lossy(&bytes);
        let text = if truncated {
            redactor.text_cut(&text)
        } else {
            redactor.text(&text)
        };
        let body = match (
            is_json && !truncated,
            serde_json::from_slice::<Value>(&bytes),
        ) {
            (true, Ok(parsed)) => parsed,
            _ => Value::String(text.clone()),
        };
        let output = json!({"status": status.as_u16(), "body": body, "truncated": truncated});
        if status.is_success() {
            Ok(StepSuccess { output, log: None })
        } else {
            let snippet: String = text.chars().take(200).collect();
            let snippet = if snippet.len() < text.len() {
                redactor.text_cut(&snippet)
            } else {
                snippet
            };
            let message = format!("HTTP {status}: {}", snippet.trim());
            // 408, 429 and 5xx say "not now"; other answers (and 501, 505: "never") would be
            // given again.
            let code = status.as_u16();
            let not_now = code == 408
                || code == 429
                || (status.is_server_error() && code != 501 && code != 505);
            let failure = if not_now {
                StepFailure::transient(message, retry_after)
            } else {
                StepFailure::new(message)
            };
            Err(StepFailure {
                output: Some(output),
                ..failure
            })
        }
    }
}

/// The project's live signing secrets, read for every request: a receiver that switches to a
/// new secret the moment it is rotated must not meet a signature made with the old one alone.
/// None when this worker has no `ACTUATE_SECRETS_KEY` (its webhooks then go unsigned, as the
/// README says).
async fn signing_secrets(vault: &Vault, scope: Scope) -> Result<Vec<SigningSecret>, StepFailure> {
    match vault.signing_secrets(scope, None).await {
        Ok(secrets) => Ok(secrets),
        Err(VaultError::NotConfigured) => Ok(Vec::new()),
        Err(VaultError::Store(e)) => Err(StepFailure::transient(
            format!("the webhook signing secret could not be read: {e}"),
            None,
        )),
        Err(e) => Err(StepFailure::new(e.to_string())),
    }
}

/// The Standard Webhooks headers: an id that is the same at every attempt of this step of this
/// execution, this attempt's time, and one signature per live secret.
fn sign(
    headers: &mut HeaderMap,
    secrets: &[SigningSecret],
    context: &StepContext<'_>,
    step: &ClaimedStep,
    body: &[u8],
) {
    let id = webhook_signing::message_id(context.execution.fence.execution_id, step.step_number);
    let timestamp = chrono::Utc::now().timestamp();
    if !secrets.is_empty() {
        let signature = webhook_signing::signature_header(secrets, &id, timestamp, body);
        headers.insert(
            webhook_signing::SIGNATURE_HEADER,
            HeaderValue::from_str(&signature).expect("base64 and spaces"),
        );
    }
    headers.insert(
        webhook_signing::ID_HEADER,
        HeaderValue::from_str(&id).expect("letters, digits and _"),
    );
    headers.insert(
        webhook_signing::TIMESTAMP_HEADER,
        HeaderValue::from(timestamp),
    );
}

async fn read_capped(
    response: reqwest::Response,
    timeout: Duration,
) -> Result<(Vec<u8>, bool), StepFailure> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| failure(&e, timeout))?;
        let room = RESPONSE_CAP - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// A request that got no (whole) answer. A timeout may pass; other errors (a refused
/// destination, a malformed answer) are not tried again.
fn failure(error: &reqwest::Error, timeout: Duration) -> StepFailure {
    let message = describe(error, timeout);
    if error.is_timeout() {
        StepFailure::transient(message, None)
    } else {
        StepFailure::new(message)
    }
}

/// A `Retry-After` value: seconds, or an HTTP date (a date already past asks for no wait).
fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or_default(),
    )
}

/// A request error as a person wants to read it: the whole cause chain, no debug noise.
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer within {} s", timeout.as_secs());
    }
    super::error_chain(error)
}
