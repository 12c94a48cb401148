use crate::helpers::{TestApp, action_body, expect_error, expect_json};
use reqwest::Method;
use serde_json::{Value, json};

/// Sends a raw body to create; returns status and JSON body.
async fn post_raw(app: &TestApp, body: impl Into<reqwest::Body>) -> reqwest::Response {
    app.request(Method::POST, "/action")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn malformed_json_is_400_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    for body in [
        "",
        "{",
        "{\"name\": }",
        "[1, 2",
        "nul",
        "{\"name\": \"x\"} trailing",
        "\u{0}",
    ] {
        let response = post_raw(&app, body).await;
        expect_error(response, 400, "invalid JSON body").await;
    }
    assert_eq!(
        expect_json(app.list_actions().await, 200).await["totalCount"],
        0
    );
}

#[tokio::test]
async fn wrong_types_name_the_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"name": 5, "steps": []}), "name"),
        (
            json!({"name": "x", "isEnabled": "yes", "steps": []}),
            "isEnabled",
        ),
        (
            json!({"name": "x", "maxRunTime": "3600", "steps": []}),
            "maxRunTime",
        ),
        (
            json!({"name": "x", "steps": {"stepType": "Python"}}),
            "steps",
        ),
        (
            json!({"name": "x", "steps": [{"stepType": "Python", "settings": "{}", "stepNumber": "1"}]}),
            "steps[0].stepNumber",
        ),
        (
            json!({"name": "x", "steps": [{"stepType": 7, "settings": "{}"}]}),
            "steps[0].stepType",
        ),
        (
            json!({"name": "x", "steps": [{"stepType": "Python", "settings": "{}"}],
                "triggers": [{"triggerType": "DailyScheduler", "frequency": 1.5}]}),
            "triggers[0].frequency",
        ),
        (json!([1, 2, 3]), "invalid JSON body"),
        (json!("a string"), "invalid JSON body"),
    ];
    for (body, field) in cases {
        let response = app.create_action(&body).await;
        expect_error(response, 400, field).await;
    }
}

#[tokio::test]
async fn semantic_errors_name_the_field() {
    let app = TestApp::spawn().await;
    let py = |settings: &str| json!({"stepType": "Python", "settings": settings});
    let cases = [
        (json!({"steps": [py("{}")]}), "name: required"),
        (
            json!({"name": "", "steps": [py("{}")]}),
            "name: must not be empty",
        ),
        (
            json!({"name": "   ", "steps": [py("{}")]}),
            "name: must not be empty",
        ),
        (json!({"name": "x"}), "steps: required"),
        (json!({"name": "x", "steps": []}), "at least one step"),
        (
            json!({"name": "x", "maxRunTime": 0, "steps": [py("{}")]}),
            "maxRunTime",
        ),
        (
            json!({"name": "x", "maxRunTime": 86401, "steps": [py("{}")]}),
            "maxRunTime",
        ),
        (
            json!({"name": "x", "maxRunTime": -5, "steps": [py("{}")]}),
            "maxRunTime",
        ),
        (
            json!({"name": "x", "steps": [{"stepType": "Shell", "settings": "{}"}]}),
            "steps[0].stepType: unknown StepType 'Shell'",
        ),
        (
            json!({"name": "x", "steps": [{"settings": "{}"}]}),
            "steps[0].stepType: required",
        ),
        (
            json!({"name": "x", "steps": [{"stepType": "Python"}]}),
            "steps[0].settings: required",
        ),
        (
            json!({"name": "x", "steps": [py("{\"code\": ")]}),
            "steps[0].settings: is not valid JSON",
        ),
        (
            json!({"name": "x", "steps": [py("\"just a string\"")]}),
            "steps[0].settings: must be a JSON object",
        ),
        (
            json!({"name": "x", "steps": [py("{\"function\": \"main\"}")]}),
            "\"code\" or \"script\"",
        ),
        (
            json!({"name": "x", "steps": [py("{\"script\": \"../../etc/passwd\"}")]}),
            "script",
        ),
        (
            json!({"name": "x", "steps": [py("{\"code\": \"result = 1\\nif True\\n    pass\"}")]}),
            "steps[0].settings: code: syntax error at line 2",
        ),
        (
            json!({"name": "x", "steps": [{"stepType": "Email", "settings": {"recipients": ["a@b.c"], "subject": "Hi {{ input.name"}}]}),
            "steps[0].settings: subject: template error on line 1",
        ),
        (
            json!({"name": "x", "steps": [{"stepType": "Email", "settings": {"recipients": ["{% for %}"]}}]}),
            "steps[0].settings: recipients[0]: template error",
        ),
        (
            json!({"name": "x", "steps": [{"stepType": "Email", "settings": {"recipients": ["a@b.c"], "subject": "line\r\nBcc: x@y.z"}}]}),
            "subject: must not contain line breaks",
        ),
        (
            json!({"name": "x", "steps": [{"stepType": "Webhook", "settings": {"url": "https://x.test", "body": {"a": ["{{ oops"]}}}]}),
            "steps[0].settings: body: template error",
        ),
        (
            json!({"name": "x", "steps": [{"stepType": "Email", "settings": "{}"}]}),
            "steps[0].settings: recipients: required",
        ),
        (
            json!({"name": "x", "steps": [{"stepType": "Email", "settings": "{\"recipients\": [\"not-an-address\"]}"}]}),
            "recipients[0]",
        ),
        (
            json!({"name": "x", "steps": [{"stepType": "Webhook", "settings": "{}"}]}),
            "steps[0].settings: url: required",
        ),
        (
            json!({"name": "x", "steps": [{"stepType": "Webhook", "settings": "{\"url\": \"file:///etc/passwd\"}"}]}),
            "scheme",
        ),
        (
            json!({"name": "x", "steps": [
            {"stepNumber": 1, "stepType": "Python", "settings": "{}"},
            {"stepNumber": 1, "stepType": "Python", "settings": "{}"}]}),
            "steps[1].stepNumber: 1 is used by more than one step",
        ),
        (
            json!({"name": "x", "steps": [{"stepNumber": 0, "stepType": "Python", "settings": "{}"}]}),
            "steps[0].stepNumber",
        ),
        (
            json!({"name": "x", "steps": [py("{}")], "triggers": [{"triggerType": "EventTrigger"}]}),
            "triggers[0].eventName: required for an EventTrigger",
        ),
        (
            json!({"name": "x", "steps": [py("{}")], "triggers": [{"triggerType": "EventTrigger", "eventName": ""}]}),
            "triggers[0].eventName",
        ),
        (
            json!({"name": "x", "steps": [py("{}")], "triggers": [{"frequency": 1}]}),
            "triggers[0].triggerType: required",
        ),
        (
            json!({"name": "x", "steps": [py("{}")], "triggers": [{"triggerType": "YearlyScheduler"}]}),
            "triggers[0].triggerType: unknown TriggerType",
        ),
        (
            json!({"name": "x", "steps": [py("{}")], "triggers": [{"triggerType": "DailyScheduler", "frequency": 0}]}),
            "triggers[0].frequency",
        ),
        (
            json!({"name": "x", "steps": [py("{}")], "triggers": [{"triggerType": "DailyScheduler", "settings": "{oops"}]}),
            "triggers[0].settings: is not valid JSON",
        ),
        (
            json!({"name": "x", "steps": [py("{}")], "triggers": [{"triggerType": "DailyScheduler", "startDate": "2024-13-01"}]}),
            "triggers[0].startDate",
        ),
        (
            json!({"name": "x".repeat(201), "steps": [py("{}")]}),
            "name: must be at most 200",
        ),
    ];
    for (body, needle) in cases {
        let response = app.create_action(&body).await;
        expect_error(response, 400, needle).await;
    }
    assert_eq!(
        expect_json(app.list_actions().await, 200).await["totalCount"],
        0
    );
}

#[tokio::test]
async fn update_validates_like_create_and_writes_nothing_on_error() {
    let app = TestApp::spawn().await;
    let action = app.created(&action_body("guarded")).await;
    let id = action["actionId"].as_str().unwrap();
    let cases = [
        (json!({"name": ""}), "name"),
        (json!({"maxRunTime": 100000}), "maxRunTime"),
        (json!({"steps": []}), "at least one step"),
        (
            json!({"name": "ok", "steps": [{"stepType": "Nope", "settings": "{}"}]}),
            "stepType",
        ),
        (
            json!({"name": "ok", "triggers": [{"triggerType": "EventTrigger"}]}),
            "eventName",
        ),
    ];
    for (body, needle) in cases {
        expect_error(app.update_action(id, &body).await, 400, needle).await;
    }
    assert_eq!(expect_json(app.get_action(id).await, 200).await, action);
}

#[tokio::test]
async fn nul_characters_are_refused_not_500() {
    let app = TestApp::spawn().await;
    let mut body = action_body("ok");
    body["description"] = json!("has a \u{0} inside");
    expect_error(app.create_action(&body).await, 400, "description").await;

    let mut body = action_body("nul\u{0}name");
    body["description"] = Value::Null;
    expect_error(app.create_action(&body).await, 400, "name").await;

    let mut body = action_body("ok");
    body["steps"][0]["description"] = json!("\u{0}");
    expect_error(app.create_action(&body).await, 400, "steps[0].description").await;

    let mut body = action_body("ok");
    body["triggers"] = json!([{"triggerType": "EventTrigger", "eventName": "a\u{0}"}]);
    expect_error(app.create_action(&body).await, 400, "triggers[0].eventName").await;

    // A raw NUL inside the settings string is invalid JSON text.
    let mut body = action_body("ok");
    body["steps"][0]["settings"] = json!("{\"code\": \"a\u{0}\"}");
    expect_error(app.create_action(&body).await, 400, "steps[0].settings").await;

    // An escaped NUL inside settings is just JSON text and round-trips.
    let mut body = action_body("escaped");
    body["steps"][0]["settings"] = json!("{\"code\": \"x = '\\u0000'\"}");
    let created = app.created(&body).await;
    assert_eq!(
        created["steps"][0]["settings"],
        "{\"code\": \"x = '\\u0000'\"}"
    );
}

#[tokio::test]
async fn huge_numbers_are_400() {
    let app = TestApp::spawn().await;
    for raw in [
        "99999999999999999999999999",
        "1e400",
        "-99999999999999999999",
        "18446744073709551616",
        "2147483648",
    ] {
        let body = format!(
            r#"{{"name":"x","maxRunTime":{raw},"steps":[{{"stepType":"Python","settings":"{{}}"}}]}}"#
        );
        expect_error(post_raw(&app, body).await, 400, "maxRunTime").await;
        let body = format!(
            r#"{{"name":"x","steps":[{{"stepType":"Python","settings":"{{}}","stepNumber":{raw}}}]}}"#
        );
        expect_error(post_raw(&app, body).await, 400, "stepNumber").await;
    }
}

#[tokio::test]
async fn oversize_bodies_are_413() {
    let app = TestApp::spawn().await;
    let mut body = action_body("big");
    body["description"] = json!("x".repeat(1024 * 1024 + 1));
    let response = app.create_action(&body).await;
    expect_error(response, 413, "larger than").await;

    // Without a Content-Length too (chunked).
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![b' '; 64 * 1024])).collect();
    let stream = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let response = post_raw(&app, stream).await;
    expect_error(response, 413, "larger than").await;
    assert_eq!(
        expect_json(app.list_actions().await, 200).await["totalCount"],
        0
    );
}

#[tokio::test]
async fn a_body_just_under_the_limit_is_accepted() {
    let app = TestApp::spawn().await;
    let mut body = action_body("near limit");
    // Well under 1 MiB in total, but far over what typical clients send.
    body["steps"][0]["settings"] =
        json!(json!({"code": format!("x = '{}'", "a".repeat(900_000))}).to_string());
    let created = app.created(&body).await;
    assert!(created["steps"][0]["settings"].as_str().unwrap().len() > 900_000);
}

#[tokio::test]
async fn non_json_content_type_is_415() {
    let app = TestApp::spawn().await;
    let body = action_body("form").to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = app.request(Method::POST, "/action").body(body.clone());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        expect_error(request.send().await.unwrap(), 415, "application/json").await;
    }
    let response = app
        .request(Method::POST, "/action")
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn server_owned_fields_in_the_body_are_ignored() {
    let app = TestApp::spawn().await;
    let forged_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    let forged_key = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";
    let mut body = action_body("mass assignment");
    for (field, value) in [
        ("actionId", json!(forged_id)),
        ("projectId", json!("00000000-0000-0000-0000-000000000000")),
        ("dateCreated", json!("2000-01-01T00:00:00Z")),
        ("dateModified", json!("2000-01-01T00:00:00Z")),
        ("createdBy", json!(forged_key)),
        ("modifiedBy", json!(forged_key)),
        ("actionStatus", json!("Running")),
        ("nextRunTime", json!("2000-01-01T00:00:00Z")),
        ("lastRunTime", json!("2000-01-01T00:00:00Z")),
        ("lastRunResult", json!("Success")),
        ("tenantId", json!("00000000-0000-0000-0000-000000000000")),
        ("somethingUnknown", json!({"nested": true})),
    ] {
        body[field] = value;
    }
    body["steps"][0]["actionId"] = json!(forged_id);
    body["steps"][0]["dateCreated"] = json!("2000-01-01T00:00:00Z");
    body["triggers"][0]["actionId"] = json!(forged_id);

    let action = app.created(&body).await;
    assert_ne!(action["actionId"], forged_id);
    assert_eq!(action["projectId"], app.project.to_string());
    assert_ne!(action["createdBy"], forged_key);
    assert_eq!(action["actionStatus"], "Idle");
    assert_ne!(action["nextRunTime"], "2000-01-01T00:00:00Z");
    assert!(action["nextRunTime"].as_str().unwrap() > "2026");
    assert_eq!(action["lastRunTime"], Value::Null);
    assert_eq!(action["lastRunResult"], Value::Null);
    assert_ne!(action["dateCreated"], "2000-01-01T00:00:00Z");
    assert_eq!(action["steps"][0]["actionId"], action["actionId"]);
    assert_ne!(action["steps"][0]["dateCreated"], "2000-01-01T00:00:00Z");
    assert_eq!(action["triggers"][0]["actionId"], action["actionId"]);

    // The same on update.
    let id = action["actionId"].as_str().unwrap();
    let updated = expect_json(
        app.update_action(
            id,
            &json!({"actionId": forged_id, "createdBy": forged_key, "actionStatus": "Running",
                    "dateCreated": "2000-01-01T00:00:00Z", "description": "still mine"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["actionId"], id);
    assert_eq!(updated["createdBy"], action["createdBy"]);
    assert_eq!(updated["actionStatus"], "Idle");
    assert_eq!(updated["dateCreated"], action["dateCreated"]);
    assert_eq!(updated["description"], "still mine");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = TestApp::spawn().await;
    let response = app
        .request(Method::GET, "/nothing-here")
        .send()
        .await
        .unwrap();
    expect_error(response, 404, "no route").await;
    let response = app.request(Method::PATCH, "/action").send().await.unwrap();
    expect_error(response, 405, "PATCH").await;
}

#[tokio::test]
async fn unicode_round_trips() {
    let app = TestApp::spawn().await;
    let mut body = action_body("日次レポート 📊");
    body["description"] = json!("Rapport quotidien — naïve café, Ελληνικά");
    let created = app.created(&body).await;
    let got = expect_json(
        app.get_action(created["actionId"].as_str().unwrap()).await,
        200,
    )
    .await;
    assert_eq!(got["name"], "日次レポート 📊");
    assert_eq!(
        got["description"],
        "Rapport quotidien — naïve café, Ελληνικά"
    );
}

#[tokio::test]
async fn templated_settings_are_accepted_and_checked_once_rendered() {
    let app = TestApp::spawn().await;
    let action = app
        .created(&json!({
            "name": "templated",
            "steps": [
                {"stepType": "Email", "settings": {
                    "recipients": ["{{ input.email }}", "Team <team@company.test>"],
                    "subject": "Report for {{ input.customer }}",
                    "html": "<p>{{ steps[1].output.rows }}</p>"}},
                {"stepType": "Webhook", "settings": {
                    "url": "{{ input.callback }}",
                    "headers": {"X-Run": "{{ execution.id }}"},
                    "body": {"rows": "{{ steps[1].output.rows }}"}}}
            ]
        }))
        .await;
    let settings: Value =
        serde_json::from_str(action["steps"][0]["settings"].as_str().unwrap()).unwrap();
    assert_eq!(settings["recipients"][0], "{{ input.email }}");
}
