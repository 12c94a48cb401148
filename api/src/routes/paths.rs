//! Case-insensitive fixed path segments. The vendor's server (ASP.NET) matches routes without
//! regard to case and its published OpenAPI document spells them `Action/...` and
//! `ActionExecution/...`, so callers written against it send those; axum matches exactly.
//! Before routing, every fixed segment is rewritten to its lowercase form. Ids are left as they
//! are, and so is an event's name (the segment after `event`), which is the caller's own text.

use axum::extract::Request;
use axum::http::Uri;

/// Every fixed segment of every route.
const FIXED: &[&str] = &[
    "api",
    "action",
    "actionexecution",
    "execute",
    "event",
    "lastaction",
    "downloadpackage",
    "ping",
    "unauthorized-ping",
    "cancel",
    "rerun",
    "enable",
    "disable",
    "secret",
    "webhooksecret",
    "rotate",
    "audit",
    "healthz",
    "readyz",
    "metrics",
    "openapi.json",
    "docs",
];

/// The request with its fixed path segments in lowercase.
pub async fn canonical(mut request: Request) -> Request {
    if let Some(path) = canonical_path(request.uri().path()) {
        let mut parts = request.uri().clone().into_parts();
        let path_and_query = match request.uri().query() {
            Some(query) => format!("{path}?{query}"),
            None => path,
        };
        if let Ok(pq) = path_and_query.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
    request
}

/// `Some(rewritten)` when a fixed segment is not already lowercase.
fn canonical_path(path: &str) -> Option<String> {
    let mut changed = false;
    let mut after_event = false;
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| {
            let free = std::mem::replace(&mut after_event, false);
            if free {
                return segment;
            }
            match FIXED.iter().find(|f| f.eq_ignore_ascii_case(segment)) {
                Some(fixed) => {
                    after_event = *fixed == "event";
                    changed |= *fixed != segment;
                    fixed
                }
                None => segment,
            }
        })
        .collect();
    changed.then(|| segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::canonical_path;

    #[test]
    fn fixed_segments_are_lowercased_and_ids_and_event_names_kept() {
        let t = "/api/12345678-ABCD-1234-1234-123456789012/87654321-4321-4321-4321-210987654321";
        assert_eq!(
            canonical_path(&format!("{t}/Action/unauthorized-Ping")),
            Some(format!("{t}/action/unauthorized-ping"))
        );
        assert_eq!(
            canonical_path(&format!("/API{}/ActionExecution/LastAction/ABC", &t[4..])),
            Some(format!("{t}/actionexecution/lastaction/ABC"))
        );
        assert_eq!(
            canonical_path(&format!("{t}/ACTION/EVENT/Ping")),
            Some(format!("{t}/action/event/Ping"))
        );
        assert_eq!(canonical_path(&format!("{t}/action/event/Ping")), None);
        assert_eq!(canonical_path("/Healthz"), Some("/healthz".into()));
        assert_eq!(canonical_path("/unknown/Path"), None);
    }
}
