//! Re-runs and bulk actions: `POST /actionexecution/{id}/rerun`, `/actionexecution/cancel` and
//! `/actionexecution/rerun` with a filter.

use crate::helpers::{TestApp, action_body, expect_error, expect_json};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashSet;

fn id(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap().to_string()
}

async fn post(app: &TestApp, path: &str, body: Option<&Value>) -> reqwest::Response {
    let mut request = app.request(Method::POST, path);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

async fn execute_with(app: &TestApp, action_id: &str, input: Value) -> String {
    let body = json!({"input": input});
    let response = post(app, &format!("/action/execute/{action_id}"), Some(&body)).await;
    id(&expect_json(response, 200).await, "actionExecutionId")
}

#[tokio::test]
async fn a_rerun_repeats_the_input_with_the_current_steps() {
    let app = TestApp::spawn().await;
    let action = app.created(&action_body("rerun me")).await;
    let action_id = id(&action, "actionId");
    let original = execute_with(&app, &action_id, json!({"order": 7})).await;

    let mut steps = action["steps"].clone();
    steps[0]["description"] = json!("changed");
    steps
        .as_array_mut()
        .unwrap()
        .push(json!({"stepType": "Webhook", "settings": "{\"url\": \"https://example.com/x\"}"}));
    expect_json(
        app.update_action(&action_id, &json!({"steps": steps}))
            .await,
        200,
    )
    .await;

    let rerun = expect_json(
        post(&app, &format!("/actionexecution/{original}/rerun"), None).await,
        200,
    )
    .await;
    assert_eq!(rerun["status"], "Queued");
    let new_id = id(&rerun, "actionExecutionId");
    assert_ne!(new_id, original);
    let detail = expect_json(app.get_execution(&new_id).await, 200).await;
    assert_eq!(detail["rerunOf"], original.as_str());
    assert_eq!(detail["input"], json!({"order": 7}));
    assert_eq!(detail["trigger"], "manual");
    let first = expect_json(app.get_execution(&original).await, 200).await;
    let before = action["steps"].as_array().unwrap().len();
    assert_eq!(first["steps"].as_array().unwrap().len(), before);
    assert_eq!(
        detail["steps"].as_array().unwrap().len(),
        before + 1,
        "the action's current steps: {detail}"
    );
    assert_eq!(first["rerunOf"], Value::Null);

    // A repeated Idempotency-Key answers the first re-run of that original.
    let keyed = |key: &'static str| {
        app.request(Method::POST, &format!("/actionexecution/{original}/rerun"))
            .header("Idempotency-Key", key)
            .send()
    };
    let a = expect_json(keyed("k1").await.unwrap(), 200).await;
    let b = expect_json(keyed("k1").await.unwrap(), 200).await;
    assert_eq!(a["actionExecutionId"], b["actionExecutionId"]);
    assert_ne!(a["actionExecutionId"], rerun["actionExecutionId"]);
}

#[tokio::test]
async fn a_rerun_of_a_missing_execution_or_a_gone_action_is_a_404() {
    let app = TestApp::spawn().await;
    let unknown = uuid::Uuid::new_v4();
    let body = expect_json(
        post(&app, &format!("/actionexecution/{unknown}/rerun"), None).await,
        404,
    )
    .await;
    assert_eq!(
        body,
        json!({"error": "Execution not found", "actionExecutionId": unknown.to_string()})
    );

    let disabled = id(&app.created(&action_body("to disable")).await, "actionId");
    let of_disabled = app.executed(&disabled).await;
    expect_json(app.disable_action(&disabled).await, 200).await;
    expect_error(
        post(
            &app,
            &format!(
                "/actionexecution/{}/rerun",
                id(&of_disabled, "actionExecutionId")
            ),
            None,
        )
        .await,
        404,
        "Action can't create execution",
    )
    .await;

    let deleted = id(&app.created(&action_body("to delete")).await, "actionId");
    let of_deleted = app.executed(&deleted).await;
    assert_eq!(app.delete_action(&deleted).await.status(), 204);
    expect_error(
        post(
            &app,
            &format!(
                "/actionexecution/{}/rerun",
                id(&of_deleted, "actionExecutionId")
            ),
            None,
        )
        .await,
        404,
        "Action not found",
    )
    .await;
}

#[tokio::test]
async fn bulk_cancel_takes_the_filtered_queued_and_running_newest_first_within_the_limit() {
    let app = TestApp::spawn().await;
    let a = id(&app.created(&action_body("a")).await, "actionId");
    let b = id(&app.created(&action_body("b")).await, "actionId");
    let mut of_a = Vec::new();
    for n in 0..3 {
        of_a.push(execute_with(&app, &a, json!(n)).await);
    }
    let of_b = [app.executed(&b).await, app.executed(&b).await];

    let one = expect_json(
        post(
            &app,
            "/actionexecution/cancel",
            Some(&json!({"actionId": a, "limit": 1})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        one,
        json!({"count": 1, "ids": [of_a[2]]}),
        "the newest first"
    );

    let rest = expect_json(
        post(
            &app,
            "/actionexecution/cancel",
            Some(&json!({"actionId": a})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(rest["count"], 2);
    let ids: HashSet<String> = rest["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, HashSet::from([of_a[0].clone(), of_a[1].clone()]));
    for e in &of_a {
        let detail = expect_json(app.get_execution(e).await, 200).await;
        assert_eq!(detail["status"], "Failed");
    }
    for e in &of_b {
        let detail = expect_json(app.get_execution(&id(e, "actionExecutionId")).await, 200).await;
        assert_eq!(
            detail["status"], "Queued",
            "another action's executions are untouched"
        );
    }
    let again = expect_json(
        post(
            &app,
            "/actionexecution/cancel",
            Some(&json!({"actionId": a})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(again, json!({"count": 0, "ids": []}));

    for (body, needle) in [
        (json!({"status": "Completed"}), "status"),
        (json!({"limit": 0}), "limit"),
        (json!({"limit": 1001}), "limit"),
        (json!({"actionID": a}), "actionID"),
        (json!({"since": "soon"}), "since"),
        (json!({"actionId": "x"}), "actionId"),
        (json!({}), "at least one of"),
        (json!({"limit": 5}), "at least one of"),
    ] {
        expect_error(
            post(&app, "/actionexecution/cancel", Some(&body)).await,
            400,
            needle,
        )
        .await;
    }
    let detail = expect_json(
        app.get_execution(&id(&of_b[0], "actionExecutionId")).await,
        200,
    )
    .await;
    assert_eq!(
        detail["status"], "Queued",
        "a refused request cancels nothing"
    );
}

#[tokio::test]
async fn bulk_rerun_creates_one_rerun_per_selected_execution() {
    let app = TestApp::spawn().await;
    let a = id(&app.created(&action_body("a")).await, "actionId");
    let b = id(&app.created(&action_body("b")).await, "actionId");
    let failed = execute_with(&app, &a, json!("first")).await;
    expect_json(app.cancel_execution(&failed).await, 200).await;
    let queued = execute_with(&app, &a, json!("second")).await;
    app.executed(&b).await;

    let only_failed = expect_json(
        post(
            &app,
            "/actionexecution/rerun",
            Some(&json!({"actionId": a, "status": "Failed"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(only_failed["count"], 1);
    assert_eq!(only_failed["ids"], json!([failed]));
    let new = &only_failed["items"][0];
    assert_eq!(new["status"], "Queued");
    let detail = expect_json(app.get_execution(&id(new, "actionExecutionId")).await, 200).await;
    assert_eq!(detail["rerunOf"], failed.as_str());
    assert_eq!(detail["input"], json!("first"));

    let all_of_a = expect_json(
        post(
            &app,
            "/actionexecution/rerun",
            Some(&json!({"actionId": a})),
        )
        .await,
        200,
    )
    .await;
    // The failed original and the queued one, newest first; the first re-run is selected too
    // but skipped: its original's new re-run covers it.
    assert_eq!(all_of_a["count"], 2);
    assert_eq!(all_of_a["ids"], json!([queued, failed]));
    let items = all_of_a["items"].as_array().unwrap();
    assert!(items.iter().all(|e| e["actionId"] == a.as_str()));

    // With an Idempotency-Key a retried bulk re-run answers the same re-runs.
    let keyed = || {
        app.request(Method::POST, "/actionexecution/rerun")
            .header("Idempotency-Key", "bulk-1")
            .json(&json!({"actionId": b}))
            .send()
    };
    let first = expect_json(keyed().await.unwrap(), 200).await;
    let again = expect_json(keyed().await.unwrap(), 200).await;
    assert_eq!(first["count"], 1);
    assert_eq!(first["items"], again["items"], "nothing was created twice");
    expect_error(
        post(&app, "/actionexecution/rerun", Some(&json!({}))).await,
        400,
        "at least one of",
    )
    .await;
}
