//! The HTTP proxy of `ACTUATE_PYTHON_NETWORK=guarded`. Each runner lives in a network
//! namespace of its own whose only listener is this proxy (on 127.0.0.1:3128 there; the
//! runner's `HTTP_PROXY`/`HTTPS_PROXY` point at it), so user code can reach the outside only
//! through here, and here every destination passes the webhook SSRF guard: after DNS, every
//! address of the name is checked ([`NetGuard::check`]), and the connection goes to a checked
//! address, so DNS rebinding cannot slip in between.
//!
//! Two request forms, as HTTP clients send them to a proxy: `CONNECT host:port` (HTTPS: a
//! tunnel; TLS stays end to end) and absolute-form `GET http://host/path` (plain HTTP: the
//! request is sent on with `Connection: close`, so one proxied connection carries one request
//! and a second one can never reach a host that was not checked).

use crate::net_guard::NetGuard;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// The longest request head read.
const MAX_HEAD: usize = 16 * 1024;
/// Connections one runner may have open through the proxy at once.
const MAX_CONNECTIONS: usize = 64;
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `listener` (inside a runner's namespace) until the returned task is aborted.
pub fn serve(
    listener: std::net::TcpListener,
    guard: NetGuard,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    Ok(tokio::spawn(async move {
        loop {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let guard = guard.clone();
            tokio::spawn(async move {
                let outcome = relay(client, &guard).await;
                metrics::counter!("actuate_python_proxy_requests_total", "outcome" => outcome)
                    .increment(1);
                drop(permit);
            });
        }
    }))
}

/// One proxied connection; the label says how it ended.
async fn relay(mut client: TcpStream, guard: &NetGuard) -> &'static str {
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut client)).await {
        Ok(Ok(head)) => head,
        _ => {
            let _ = refuse(&mut client, 400, "unreadable proxy request").await;
            return "bad_request";
        }
    };
    let request = match Target::parse(&head.bytes[..head.end]) {
        Ok(request) => request,
        Err(why) => {
            let _ = refuse(&mut client, 400, &why).await;
            return "bad_request";
        }
    };
    let addrs = match resolve(&request.host, request.port, guard).await {
        Ok(addrs) => addrs,
        Err(why) => {
            tracing::info!(host = %request.host, reason = %why, "guarded proxy refused a destination");
            let _ = refuse(&mut client, 403, &why).await;
            return "blocked";
        }
    };
    let mut upstream =
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addrs[..])).await {
            Ok(Ok(stream)) => stream,
            _ => {
                let why = format!("cannot connect to {}:{}", request.host, request.port);
                let _ = refuse(&mut client, 502, &why).await;
                return "unreachable";
            }
        };
    let rest = &head.bytes[head.end..];
    let sent = match &request.origin_head {
        None => {
            client
                .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                .await
        }
        Some(origin_head) => upstream.write_all(origin_head).await,
    };
    if sent.is_err() || upstream.write_all(rest).await.is_err() {
        return "closed";
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    "relayed"
}

struct Head {
    bytes: Vec<u8>,
    /// Where the head ends (after its blank line); the rest is body already read.
    end: usize,
}

async fn read_head(client: &mut TcpStream) -> std::io::Result<Head> {
    let mut bytes = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let from = bytes.len().saturating_sub(3);
        bytes.extend_from_slice(&chunk[..n]);
        if let Some(at) = bytes[from..].windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(Head {
                end: from + at + 4,
                bytes,
            });
        }
        if bytes.len() > MAX_HEAD {
            return Err(std::io::Error::other("request head too large"));
        }
    }
}

/// Where a proxy request wants to go.
struct Target {
    host: String,
    port: u16,
    /// For plain HTTP: the head to send on (origin-form, `Connection: close`); `None` for a
    /// CONNECT tunnel.
    origin_head: Option<Vec<u8>>,
}

impl Target {
    fn parse(head: &[u8]) -> Result<Self, String> {
        let mut headers = [httparse::EMPTY_HEADER; 100];
        let mut request = httparse::Request::new(&mut headers);
        request
            .parse(head)
            .map_err(|e| format!("malformed request: {e}"))?;
        let method = request.method.ok_or("no method")?;
        let target = request.path.ok_or("no target")?;
        if method.eq_ignore_ascii_case("CONNECT") {
            let url = url::Url::parse(&format!("http://{target}"))
                .map_err(|_| format!("CONNECT target '{target}' is not host:port"))?;
            // `url` drops a port that is its scheme's default, so read it from the target.
            let port = target
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok())
                .ok_or("CONNECT needs host:port")?;
            return Ok(Self {
                host: host_of(&url)?,
                port,
                origin_head: None,
            });
        }
        let url = url::Url::parse(target).map_err(|_| {
            format!("'{target}' is not an absolute http:// URL (use CONNECT for https)")
        })?;
        if url.scheme() != "http" {
            return Err(format!(
                "scheme {} is not proxied; use CONNECT for https",
                url.scheme()
            ));
        }
        let mut origin = format!(
            "{method} {}",
            &url[url::Position::BeforePath..url::Position::AfterQuery]
        );
        origin.push_str(" HTTP/1.1\r\n");
        let mut has_host = false;
        for header in request.headers.iter() {
            let name = header.name.to_ascii_lowercase();
            if name.starts_with("proxy-") || name == "connection" || name == "keep-alive" {
                continue;
            }
            has_host |= name == "host";
            origin.push_str(header.name);
            origin.push_str(": ");
            origin.push_str(&String::from_utf8_lossy(header.value));
            origin.push_str("\r\n");
        }
        let host = host_of(&url)?;
        let port = url.port_or_known_default().unwrap_or(80);
        if !has_host {
            origin.push_str(&format!(
                "Host: {}\r\n",
                &url[url::Position::BeforeHost..url::Position::AfterPort]
            ));
        }
        origin.push_str("Connection: close\r\n\r\n");
        Ok(Self {
            host,
            port,
            origin_head: Some(origin.into_bytes()),
        })
    }
}

fn host_of(url: &url::Url) -> Result<String, String> {
    let host = url.host_str().ok_or("no host")?;
    Ok(host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .to_string())
}

/// Every address of `host`, each checked by the guard: one blocked address refuses the name.
async fn resolve(host: &str, port: u16, guard: &NetGuard) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    for addr in &addrs {
        guard.check(addr.ip()).map_err(|e| e.to_string())?;
    }
    Ok(addrs)
}

async fn refuse(client: &mut TcpStream, status: u16, why: &str) -> std::io::Result<()> {
    let reason = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        _ => "Bad Gateway",
    };
    let body = format!("actuate guarded network: {why}\n");
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(response.as_bytes()).await
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn connect_and_absolute_form_targets() {
        let t = Target::parse(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
            .unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.origin_head.is_none()),
            ("example.com", 443, true)
        );
        let t = Target::parse(b"CONNECT [::1]:8443 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8443));
        // Decimal IPv4 is normalised before the guard sees it.
        let t = Target::parse(b"CONNECT 2130706433:80 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(t.host, "127.0.0.1");
        let t = Target::parse(
            b"GET http://example.com:8080/a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n",
        )
        .unwrap();
        assert_eq!((t.host.as_str(), t.port), ("example.com", 8080));
        let head = String::from_utf8(t.origin_head.unwrap()).unwrap();
        assert_eq!(
            head,
            "GET /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        assert!(Target::parse(b"GET /relative HTTP/1.1\r\n\r\n").is_err());
        assert!(Target::parse(b"GET ftp://x/ HTTP/1.1\r\n\r\n").is_err());
        assert!(Target::parse(b"CONNECT example.com HTTP/1.1\r\n\r\n").is_err());
    }
}
