//! Hostile and careless input: one request must never take the API down, and every refusal
//! names what was wrong.

use crate::helpers::{TestApp, expect_error, expect_json};
use serde_json::{Value, json};

fn python(code: String) -> Value {
    json!({"name": "deep", "steps": [
        {"stepType": "Python", "settings": json!({"code": code}).to_string()}]})
}

fn email_subject(subject: String) -> Value {
    json!({"name": "deep", "steps": [{"stepType": "Email", "settings": json!({
        "recipients": ["a@example.com"], "subject": subject}).to_string()}]})
}

/// Each parser gets pathological input of about the maximum body size (1 MiB); the answer is a
/// 400 naming the limit, and the API keeps serving.
#[tokio::test]
async fn pathological_nesting_is_a_400_and_the_api_stays_up() {
    let app = TestApp::spawn().await;
    let near = 1000 * 1000;
    let cases = [
        (
            python(format!("x = {}1", "1+".repeat(near / 2))),
            "nested too deeply",
        ),
        (
            python(format!("x = {}1", "-".repeat(near))),
            "nested too deeply",
        ),
        (
            python(format!("x = {}", "[".repeat(near))),
            "too many nested parentheses",
        ),
        (
            python(format!("x = {}", "()".repeat(near / 2))),
            "nested too deeply",
        ),
        (
            python(format!("x = f'{{{}1}}'", "1+".repeat(near / 2))),
            "nested too deeply",
        ),
        (
            email_subject(format!("{{{{ x{} }}}}", "|upper".repeat(near / 6))),
            "nested too deeply",
        ),
        (
            email_subject(format!("{{{{ {}1 }}}}", "1 ~ ".repeat(near / 4))),
            "nested too deeply",
        ),
    ];
    for (body, needle) in cases {
        let text = body.to_string();
        assert!(
            text.len() > 500_000 && text.len() < 1024 * 1024,
            "{}",
            text.len()
        );
        let err = expect_error(app.create_action(&body).await, 400, needle).await;
        assert!(
            err["error"]
                .as_str()
                .unwrap()
                .starts_with("steps[0].settings"),
            "{err}"
        );
    }
    // JSON itself: serde_json stops at 128 levels.
    let deep_json = format!("{}{}", "[".repeat(near / 2), "]".repeat(near / 2));
    let response = app
        .request(reqwest::Method::POST, "/action")
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"name": "x", "steps": [{{"stepType": "Python", "settings": {deep_json}}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "recursion limit").await;
    let response = app
        .request(
            reqwest::Method::POST,
            "/action/execute/00000000-0000-0000-0000-000000000001",
        )
        .header("content-type", "application/json")
        .body(format!(r#"{{"input": {deep_json}}}"#))
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "recursion limit").await;

    assert_eq!(app.ping("action").await.status(), 200);
    assert_eq!(
        expect_json(app.list_actions().await, 200).await["totalCount"],
        0
    );
}
