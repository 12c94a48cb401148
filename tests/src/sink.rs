//! A real HTTP server on loopback that records every request webhooks send it, and answers
//! with a chosen status after a chosen delay.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct Inner {
    requests: Mutex<Vec<Recorded>>,
}

pub struct Sink {
    pub port: u16,
    /// The loopback address it listens on (127.0.0.1 unless started with [`Sink::start_on`]).
    pub host: std::net::IpAddr,
    inner: Arc<Inner>,
}

impl Sink {
    /// Starts a sink: `/echo` answers 200 with the request's headers and body as JSON
    /// (`/echo/{code}`: with that status),
    /// `/status/{code}` answers that code, `/slow/{ms}` answers 200 after that
    /// many milliseconds, `/flaky/{n}/{code}[/{retry_after}]` answers `code` (with that
    /// `Retry-After`, if given) to the first `n` requests to that path and 200 after them,
    /// anything else 200 with `{"ok": true}`.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1").await
    }

    /// A sink on another loopback address (127.0.0.2, ...), for tests that allow one address
    /// and refuse another.
    pub async fn start_on(host: &str) -> Self {
        let inner = Arc::new(Inner::default());
        let router = Router::new().fallback(record).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind((host, 0))
            .await
            .expect("bind sink");
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            port: addr.port(),
            host: addr.ip(),
            inner,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}:{}{path}", self.host, self.port)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.requests.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived, or `within` passed.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let requests = self.requests();
            if requests.len() >= n || tokio::time::Instant::now() >= deadline {
                return requests;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn record(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = uri.path().to_string();
    // What a careless receiver does: answers with what it was sent.
    let echoed = (path == "/echo" || path.starts_with("/echo/")).then(|| {
        serde_json::json!({
            "headers": headers_as_json(&headers),
            "body": String::from_utf8_lossy(&body),
        })
    });
    let earlier = {
        let mut requests = inner.requests.lock().unwrap();
        let earlier = requests.iter().filter(|r| r.path == path).count() as u64;
        requests.push(Recorded {
            method,
            path: path.clone(),
            headers,
            body,
        });
        earlier
    };
    if let Some(rest) = path.strip_prefix("/flaky/") {
        let numbers: Vec<u64> = rest.split('/').filter_map(|v| v.parse().ok()).collect();
        if let [failures, code, ref after @ ..] = numbers[..]
            && earlier < failures
        {
            let status = StatusCode::from_u16(code as u16).unwrap_or(StatusCode::IM_A_TEAPOT);
            let mut response =
                (status, format!("failure {} of {failures}", earlier + 1)).into_response();
            if let [seconds] = after {
                response
                    .headers_mut()
                    .insert("retry-after", seconds.to_string().parse().unwrap());
            }
            return response;
        }
    }
    if let Some(echoed) = echoed {
        let status = path
            .strip_prefix("/echo/")
            .and_then(|code| code.parse::<u16>().ok())
            .and_then(|code| StatusCode::from_u16(code).ok())
            .unwrap_or(StatusCode::OK);
        return (
            status,
            [("content-type", "application/json")],
            echoed.to_string(),
        )
            .into_response();
    }
    answer(&path).await.into_response()
}

fn headers_as_json(headers: &HeaderMap) -> serde_json::Value {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                serde_json::Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

async fn answer(path: &str) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    let json = [("content-type", "application/json")];
    let mut parts = path.trim_start_matches('/').split('/');
    match (
        parts.next(),
        parts.next().and_then(|v| v.parse::<u64>().ok()),
    ) {
        (Some("status"), Some(code)) => (
            StatusCode::from_u16(code as u16).unwrap_or(StatusCode::IM_A_TEAPOT),
            json,
            format!("{{\"status\": {code}, \"detail\": \"as requested\"}}"),
        ),
        (Some("slow"), Some(ms)) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            (
                StatusCode::OK,
                json,
                "{\"ok\": true, \"slow\": true}".into(),
            )
        }
        (Some("big"), Some(bytes)) => (
            StatusCode::OK,
            [("content-type", "text/plain")],
            "x".repeat(bytes as usize),
        ),
        _ => (StatusCode::OK, json, "{\"ok\": true}".into()),
    }
}
