//! Read-only keys: every mutating operation the OpenAPI document lists (so a route added later
//! is covered without touching this test) answers 403 to a read-only key and changes nothing;
//! reading works.

use crate::helpers::{TestApp, action_body, expect_json};
use actuate_shared::domain::auth::Token;
use reqwest::Method;
use serde_json::{Value, json};

async fn read_only_token(app: &TestApp) -> String {
    let token = Token::generate();
    app.store
        .create_api_key(app.tenant, None, Some("reader".into()), true, token.hash())
        .await
        .unwrap();
    token.expose().to_string()
}

#[tokio::test]
async fn a_read_only_key_gets_403_on_every_mutating_route_and_reads_freely() {
    let app = TestApp::spawn().await;
    let action = app.created(&action_body("existing")).await;
    let action_id = action["actionId"].as_str().unwrap().to_string();
    let execution = app.executed(&action_id).await;
    let execution_id = execution["actionExecutionId"].as_str().unwrap().to_string();
    let reader = read_only_token(&app).await;

    let document = expect_json(app.openapi().await, 200).await;
    let mut checked = 0;
    for (template, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let authenticated = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            // Every method but GET changes something, and so does the documented GET execute;
            // the GET of the webhook signing secret needs a read-write key too.
            let mutates = method != "get"
                || operation["operationId"] == "executeAction"
                || operation["operationId"] == "getWebhookSecret";
            if !mutates || !authenticated {
                continue;
            }
            let path = template
                .replace("{tenantId}", &app.tenant.to_string())
                .replace("{projectId}", &app.project.to_string())
                .replace("{actionId}", &action_id)
                .replace("{actionExecutionId}", &execution_id)
                .replace("{eventName}", "order.created")
                .replace("{name}", "API_TOKEN");
            assert!(!path.contains('{'), "a parameter left in {path}");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .client
                .request(method.clone(), format!("{}{path}", app.address))
                .bearer_auth(&reader)
                .json(&json!({"actionId": action_id, "name": "changed"}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_eq!(status, 403, "{method} {template}: {body}");
            assert!(
                body["error"].as_str().unwrap_or("").contains("read-only"),
                "{method} {template}: {body}"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 16,
        "only {checked} mutating operations were found"
    );

    // Nothing changed, and reading works.
    let read = |path: String| {
        app.client
            .get(format!("{}{path}", app.base()))
            .bearer_auth(&reader)
            .send()
    };
    let now = expect_json(read(format!("/action/{action_id}")).await.unwrap(), 200).await;
    assert_eq!(now["name"], "existing");
    assert_eq!(now["isEnabled"], true);
    let listed = expect_json(read("/action".into()).await.unwrap(), 200).await;
    assert_eq!(listed["totalCount"], 1);
    let run = expect_json(
        read(format!("/actionexecution/{execution_id}"))
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(run["status"], "Queued", "not cancelled");
}
