//! The API over HTTP: one method per verb on a path under the project's base
//! (`{url}/api/{tenant}/{project}`), JSON in and out. A refusal becomes
//! [`ClientError::Api`] with the API's own message; a request that never got an answer
//! becomes [`ClientError::Connection`].

use super::ClientError;
use super::connection::Connection;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

pub struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    pub fn new(connection: Connection) -> Result<Self, ClientError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("actuate-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Connection(format!("cannot make an HTTP client: {e}")))?;
        Ok(Self {
            client,
            base: format!(
                "{}/api/{}/{}",
                connection.url, connection.tenant, connection.project
            ),
            token: connection.token,
        })
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ClientError> {
        self.send(Method::GET, path, query, None).await
    }

    pub async fn post(&self, path: &str, body: Option<&Value>) -> Result<Value, ClientError> {
        self.send(Method::POST, path, &[], body).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.send(Method::PUT, path, &[], Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, ClientError> {
        self.send(Method::DELETE, path, &[], None).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .client
            .request(method.clone(), &url)
            .bearer_auth(&self.token)
            .query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::Connection(format!("{method} {url}: {}", describe(&e))))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| {
            ClientError::Connection(format!(
                "{method} {url}: the answer broke off: {}",
                describe(&e)
            ))
        })?;
        if status.is_success() {
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text).map_err(|_| {
                ClientError::Connection(format!(
                    "{method} {url}: the answer is not JSON (is {} the Actuate API?)",
                    self.base
                ))
            });
        }
        Err(ClientError::Api {
            status: status.as_u16(),
            message: api_message(status, &text),
        })
    }
}

/// The API's error message: its JSON `error` (or the seeds' `Error`, or `message`), with the
/// fields naming what it is about; otherwise the status line.
fn api_message(status: StatusCode, body: &str) -> String {
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(body) else {
        let reason = status.canonical_reason().unwrap_or("error");
        return match body.trim() {
            "" => format!("HTTP {} {reason}", status.as_u16()),
            text => format!("HTTP {} {reason}: {}", status.as_u16(), first_line(text)),
        };
    };
    let mut message = ["error", "Error", "message"]
        .iter()
        .find_map(|k| fields.get(*k).and_then(Value::as_str))
        .unwrap_or("the API refused the request")
        .to_string();
    let context: Vec<String> = fields
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "error" | "Error" | "message"))
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some(format!("{k}: {s}")),
            Value::Number(n) => Some(format!("{k}: {n}")),
            _ => None,
        })
        .collect();
    if !context.is_empty() {
        message = format!("{message} ({})", context.join(", "));
    }
    message
}

fn first_line(text: &str) -> &str {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(200) {
        Some((cut, _)) => &line[..cut],
        None => line,
    }
}

/// A transport error on one line: what failed and its root cause.
fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "no answer in time"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "the request failed"
    };
    let mut root: &dyn std::error::Error = error;
    while let Some(cause) = root.source() {
        root = cause;
    }
    format!("{what}: {root}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apis_message_is_shown_with_what_it_names() {
        let body = r#"{"error": "Action not found", "actionId": "abc"}"#;
        assert_eq!(
            api_message(StatusCode::NOT_FOUND, body),
            "Action not found (actionId: abc)"
        );
        let seed = r#"{"Error": "An action with this name already exists in the project"}"#;
        assert_eq!(
            api_message(StatusCode::CONFLICT, seed),
            "An action with this name already exists in the project"
        );
        assert_eq!(
            api_message(StatusCode::BAD_GATEWAY, ""),
            "HTTP 502 Bad Gateway"
        );
        assert_eq!(
            api_message(StatusCode::UNAUTHORIZED, "no\nmore"),
            "HTTP 401 Unauthorized: no"
        );
    }
}
