//! Delayed runs through the API: `runAt` / `delaySeconds` on execute, shown on the execution,
//! cancellable before they start; bad values are 400s naming the field.

use crate::helpers::{TestApp, action_body, expect_error, expect_json};
use chrono::{DateTime, FixedOffset, SubsecRound, Utc};
use reqwest::Method;
use serde_json::{Value, json};

async fn execute(app: &TestApp, action_id: &str, body: &Value) -> reqwest::Response {
    app.request(Method::POST, &format!("/action/execute/{action_id}"))
        .json(body)
        .send()
        .await
        .unwrap()
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_delayed_execution_is_queued_with_its_run_at_and_can_be_cancelled() {
    let app = TestApp::spawn().await;
    let action = app.created(&action_body("later")).await;
    let action_id = action["actionId"].as_str().unwrap();

    let before = Utc::now();
    let queued = expect_json(
        execute(
            &app,
            action_id,
            &json!({"delaySeconds": 3600, "input": {"n": 1}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(queued["status"], "Queued");
    let id = queued["actionExecutionId"].as_str().unwrap();
    let detail = expect_json(app.get_execution(id).await, 200).await;
    let run_at = time(&detail["runAt"]);
    let expected = before + chrono::Duration::seconds(3600);
    assert!(
        run_at >= expected && run_at <= Utc::now() + chrono::Duration::seconds(3600),
        "runAt {run_at}, asked for an hour after {before}"
    );
    assert_eq!(detail["input"], json!({"n": 1}));
    assert_eq!(detail["rerunOf"], Value::Null);

    // Any offset; the same instant is shown in UTC.
    let in_a_month = (Utc::now() + chrono::Duration::days(30)).trunc_subsecs(3);
    let at = in_a_month
        .with_timezone(&FixedOffset::east_opt(2 * 3600).unwrap())
        .to_rfc3339();
    let fixed = expect_json(execute(&app, action_id, &json!({"runAt": at})).await, 200).await;
    let id_fixed = fixed["actionExecutionId"].as_str().unwrap();
    let detail = expect_json(app.get_execution(id_fixed).await, 200).await;
    assert_eq!(time(&detail["runAt"]), in_a_month);

    let cancelled = expect_json(app.cancel_execution(id).await, 200).await;
    assert_eq!(cancelled["status"], "Failed");
    assert_eq!(
        expect_json(app.get_execution(id).await, 200).await["status"],
        "Failed"
    );

    // A time already past starts at once: no runAt.
    let now = expect_json(
        execute(&app, action_id, &json!({"runAt": "2020-01-01T00:00:00Z"})).await,
        200,
    )
    .await;
    let detail = expect_json(
        app.get_execution(now["actionExecutionId"].as_str().unwrap())
            .await,
        200,
    )
    .await;
    assert_eq!(detail["runAt"], Value::Null);
}

#[tokio::test]
async fn bad_delays_are_400s_naming_the_field_and_write_nothing() {
    let app = TestApp::spawn().await;
    let action = app.created(&action_body("bad delays")).await;
    let action_id = action["actionId"].as_str().unwrap();
    let cases = [
        (json!({"delaySeconds": -1}), "delaySeconds"),
        (json!({"delaySeconds": 31_536_001}), "delaySeconds"),
        (json!({"delaySeconds": 1.5}), "delaySeconds"),
        (json!({"delaySeconds": "10"}), "delaySeconds"),
        (json!({"runAt": "tomorrow"}), "runAt"),
        (json!({"runAt": "2026-12-04 10:00:00"}), "runAt"),
        (json!({"runAt": "2999-01-01T00:00:00Z"}), "runAt"),
        (json!({"run_at": "2030-01-01T00:00:00Z"}), "run_at"),
        (json!({"delay": 60}), "delay"),
        (
            json!({"runAt": "2030-01-01T00:00:00Z", "delaySeconds": 5}),
            "either runAt or delaySeconds",
        ),
    ];
    for (body, needle) in cases {
        expect_error(execute(&app, action_id, &body).await, 400, needle).await;
    }
    let list = expect_json(app.list_executions(action_id, "").await, 200).await;
    assert_eq!(list["items"], json!([]), "nothing was written");
}
