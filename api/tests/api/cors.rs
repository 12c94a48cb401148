//! CORS: off by default (no CORS headers); with `ACTUATE_CORS_ORIGINS` set, a listed origin's
//! preflight is answered and its requests carry the allowing headers, another origin's do not.

use crate::helpers::{TestApp, expect_json};
use actuate_api::cors::CorsOrigins;
use reqwest::Method;

const ALLOWED: &str = "https://app.example.com";

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, format!("{}/action", app.base()))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type, idempotency-key",
        )
        .send()
        .await
        .unwrap()
}

fn allowed_origin(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn cors_is_off_by_default() {
    let app = TestApp::spawn().await;
    let answer = preflight(&app, ALLOWED).await;
    assert_eq!(allowed_origin(&answer), None);
    let listed = app
        .request(Method::GET, "/action")
        .header("Origin", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed_origin(&listed), None);
}

#[tokio::test]
async fn listed_origins_are_allowed_and_others_are_not() {
    let origins: CorsOrigins = format!("{ALLOWED}, http://localhost:3000").parse().unwrap();
    let app = TestApp::spawn_with_cors(origins).await;

    let answer = preflight(&app, ALLOWED).await;
    assert!(answer.status().is_success(), "{}", answer.status());
    assert_eq!(allowed_origin(&answer).as_deref(), Some(ALLOWED));
    let methods = answer
        .headers()
        .get("access-control-allow-methods")
        .unwrap()
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        methods.contains("post") && methods.contains("delete"),
        "{methods}"
    );
    let headers = answer
        .headers()
        .get("access-control-allow-headers")
        .unwrap()
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(headers.contains("authorization") && headers.contains("idempotency-key"));

    let listed = app
        .request(Method::GET, "/action")
        .header("Origin", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed_origin(&listed).as_deref(), Some(ALLOWED));
    let exposed = listed
        .headers()
        .get("access-control-expose-headers")
        .unwrap()
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");
    expect_json(listed, 200).await;

    let other = preflight(&app, "https://evil.example").await;
    assert_eq!(allowed_origin(&other), None);
}
