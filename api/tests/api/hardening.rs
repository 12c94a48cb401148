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

/// jsonb cannot hold NUL (nor give back numbers near f64::MAX): execute and event bodies that
/// carry one are a 400 naming where, and nothing is created.
#[tokio::test]
async fn nul_in_inputs_is_a_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let body = json!({"name": "with event", "steps": [
        {"stepType": "Python", "settings": "{\"code\": \"result = 1\"}"}],
        "triggers": [{"triggerType": "EventTrigger", "eventName": "order.placed"}]});
    let action = app.created(&body).await;
    let id = action["actionId"].as_str().unwrap();
    for (input, path) in [
        (json!({"h": "v\u{0}x"}), "input.h"),
        (
            json!({"rows": [1, {"name": "\u{0}"}]}),
            "input.rows[1].name",
        ),
        (json!({"k\u{0}": 1}), "input (a key)"),
        (json!("\u{0}"), "input"),
    ] {
        let response = app
            .execute_post(id, Some(&json!({"input": input})), None)
            .await;
        let err = expect_error(response, 400, path).await;
        assert!(err["error"].as_str().unwrap().contains("NUL"), "{err}");
    }
    let response = app
        .raise_event("order.placed", Some(&json!({"h": "\u{0}"})), None)
        .await;
    expect_error(response, 400, "body.h").await;
    // Numbers near f64::MAX: jsonb keeps them but writes them back as digits that no longer
    // read as a number (found by schemathesis: the execution could not be read back).
    let huge: serde_json::Value =
        serde_json::from_str(r#"{"input": {"x": [-1.7976931348623157e308]}}"#).unwrap();
    let response = app.execute_post(id, Some(&huge), None).await;
    expect_error(response, 400, "input.x[0]: numbers must be less than 1e308").await;
    let history = expect_json(app.list_executions(id, "").await, 200).await;
    assert_eq!(history["items"], json!([]));
    // Other control characters and every other code point are stored as given.
    let input = json!({"text": "tab\t bell\u{7} ✓ \u{202e} \u{10FFFF}"});
    let created = expect_json(
        app.execute_post(id, Some(&json!({"input": input})), None)
            .await,
        200,
    )
    .await;
    let detail = expect_json(
        app.get_execution(created["actionExecutionId"].as_str().unwrap())
            .await,
        200,
    )
    .await;
    assert_eq!(detail["input"], input);
}

/// The vendor's spelling reaches the same routes; an event's name keeps its case.
#[tokio::test]
async fn fixed_segments_match_in_any_case_and_event_names_keep_theirs() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!(
            "{}/API/{}/{}/Action/Unauthorized-Ping",
            app.address, app.tenant, app.project
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "Ping Successful");
    let action = app
        .created(&json!({"name": "cased", "steps": [
            {"stepType": "Python", "settings": "{\"code\": \"result = 1\"}"}],
            "triggers": [{"triggerType": "EventTrigger", "eventName": "Order.Placed"}]}))
        .await;
    let raised = |name: &'static str| {
        app.request(reqwest::Method::POST, &format!("/ACTION/Event/{name}"))
            .header("content-type", "application/json")
            .body("{}")
            .send()
    };
    let hit = expect_json(raised("Order.Placed").await.unwrap(), 200).await;
    assert_eq!(hit["eventName"], "Order.Placed");
    assert_eq!(hit["items"][0]["actionId"], action["actionId"]);
    let miss = expect_json(raised("order.placed").await.unwrap(), 200).await;
    assert_eq!(miss["items"], json!([]));
    let id = action["actionId"].as_str().unwrap();
    let got = app
        .request(reqwest::Method::GET, &format!("/Action/{id}?unused=Action"))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(got, 200).await["actionId"], action["actionId"]);
}

/// Names are shown and typed again: no control or bidi characters; trigger and event names are
/// one type, so a trigger can never be saved under a name that cannot be raised.
#[tokio::test]
async fn names_and_triggers_are_refused_by_name() {
    let app = TestApp::spawn().await;
    let step = json!({"stepType": "Python", "settings": "{\"code\": \"result = 1\"}"});
    let cases = [
        (
            json!({"name": "line\r\nbreak", "steps": [step]}),
            "name: must not contain control",
        ),
        (
            json!({"name": "evil\u{202E}gnp.exe", "steps": [step]}),
            "name: must not contain bidirectional",
        ),
        (
            json!({"name": "x", "steps": [step], "triggers": [{"triggerType": "EventTrigger", "eventName": "a\u{1}b"}]}),
            "triggers[0].eventName: must not contain control",
        ),
        (
            json!({"name": "x", "steps": [step], "triggers": [{"triggerType": "EventTrigger", "eventName": "a\u{2066}b"}]}),
            "triggers[0].eventName: must not contain bidirectional",
        ),
        (
            json!({"name": "x", "steps": [step], "triggers": [{"triggerType": "CronScheduler", "settings": {"cron": "* * * * * * *"}}]}),
            "triggers[0].settings: cron: '* * * * * * *' has 7 fields",
        ),
    ];
    for (body, needle) in cases {
        expect_error(app.create_action(&body).await, 400, needle).await;
    }
    let response = app.raise_event("a%01b", None, None).await;
    expect_error(response, 400, "eventName: must not contain control").await;
    assert_eq!(
        expect_json(app.list_actions().await, 200).await["totalCount"],
        0
    );
}
