//! Cross-origin requests from browsers (`ACTUATE_CORS_ORIGINS`, off by default). Off, a
//! browser page on another origin cannot read the API's answers; on, the listed origins (or
//! any, with `*`) may call it with a bearer token. Answers carry no cookies, so allowing an
//! origin lends it nothing but what its own token already grants.

use axum::http::{HeaderName, HeaderValue, Method, header};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

#[derive(Clone, Debug, Default, PartialEq)]
pub enum CorsOrigins {
    /// No CORS headers: browsers keep other origins out.
    #[default]
    Off,
    /// `*`: any origin.
    Any,
    /// These origins exactly (`scheme://host[:port]`).
    List(Vec<HeaderValue>),
}

impl FromStr for CorsOrigins {
    type Err = String;

    /// `*`, or origins separated by commas: `https://app.example.com,http://localhost:3000`.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Self::Off);
        }
        if text == "*" {
            return Ok(Self::Any);
        }
        let origins = text
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|origin| {
                let url = url::Url::parse(origin)
                    .map_err(|_| format!("'{origin}' is not an origin (scheme://host[:port])"))?;
                let bare = matches!(url.scheme(), "http" | "https")
                    && url.host_str().is_some()
                    && url.path() == "/"
                    && !origin.ends_with('/')
                    && url.query().is_none()
                    && url.username().is_empty();
                if !bare {
                    return Err(format!(
                        "'{origin}' is not an origin: http(s)://host[:port], no path"
                    ));
                }
                HeaderValue::from_str(origin).map_err(|e| format!("'{origin}': {e}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self::List(origins))
    }
}

impl fmt::Display for CorsOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Off => f.write_str("off"),
            Self::Any => f.write_str("*"),
            Self::List(origins) => {
                let list: Vec<&str> = origins.iter().filter_map(|o| o.to_str().ok()).collect();
                f.write_str(&list.join(","))
            }
        }
    }
}

impl CorsOrigins {
    /// The layer answering preflights and adding the CORS headers; `None` when off.
    pub fn layer(&self) -> Option<CorsLayer> {
        let origin = match self {
            Self::Off => return None,
            Self::Any => AllowOrigin::any(),
            Self::List(origins) => AllowOrigin::list(origins.clone()),
        };
        Some(
            CorsLayer::new()
                .allow_origin(origin)
                .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    HeaderName::from_static("idempotency-key"),
                    HeaderName::from_static("x-request-id"),
                ])
                .expose_headers([
                    HeaderName::from_static("x-request-id"),
                    header::RETRY_AFTER,
                    header::CONTENT_DISPOSITION,
                ])
                .max_age(Duration::from_secs(600)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_parsed_strictly() {
        assert_eq!("".parse::<CorsOrigins>(), Ok(CorsOrigins::Off));
        assert_eq!(" * ".parse::<CorsOrigins>(), Ok(CorsOrigins::Any));
        let CorsOrigins::List(list) = "https://a.example, http://localhost:3000"
            .parse::<CorsOrigins>()
            .unwrap()
        else {
            panic!("a list")
        };
        assert_eq!(list.len(), 2);
        for bad in [
            "a.example",
            "https://a.example/",
            "https://a.example/app",
            "ftp://a.example",
            "https://a.example?x=1",
        ] {
            assert!(bad.parse::<CorsOrigins>().is_err(), "{bad}");
        }
    }
}
