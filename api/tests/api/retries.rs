//! A step's `retry` policy through the API: absent fields take their defaults, the policy is
//! shown on the action and kept by an update that repeats it, bad values are 400s naming the
//! field; an execution's steps show their attempts.

use crate::helpers::{TestApp, action_body, expect_error, expect_json};
use serde_json::{Value, json};

fn with_retry(name: &str, retry: Value) -> Value {
    let mut body = action_body(name);
    body["steps"][0]["retry"] = retry;
    body
}

#[tokio::test]
async fn a_retry_policy_is_completed_with_defaults_shown_and_validated() {
    let app = TestApp::spawn().await;
    let action = app
        .created(&with_retry(
            "retrying",
            json!({"maxAttempts": 5, "initialDelaySeconds": 0.5}),
        ))
        .await;
    assert_eq!(
        action["steps"][0]["retry"],
        json!({"maxAttempts": 5, "initialDelaySeconds": 0.5, "backoffFactor": 2.0, "maxDelaySeconds": 60.0})
    );
    assert_eq!(
        action["steps"][1]["retry"],
        Value::Null,
        "no policy: not retried"
    );

    let id = action["actionId"].as_str().unwrap();
    let kept = expect_json(
        app.update_action(id, &json!({"steps": action["steps"]}))
            .await,
        200,
    )
    .await;
    assert_eq!(kept["steps"][0]["retry"], action["steps"][0]["retry"]);

    for (retry, needle) in [
        (json!({"maxAttempts": 0}), "steps[0].retry: maxAttempts"),
        (json!({"maxAttempts": 101}), "steps[0].retry: maxAttempts"),
        (
            json!({"backoffFactor": 0.5}),
            "steps[0].retry: backoffFactor",
        ),
        (
            json!({"initialDelaySeconds": 5, "maxDelaySeconds": 1}),
            "maxDelaySeconds",
        ),
        (json!({"maxAttempt": 3}), "maxAttempt"),
        (json!(3), "steps[0].retry"),
    ] {
        expect_error(
            app.create_action(&with_retry("bad", retry)).await,
            400,
            needle,
        )
        .await;
    }

    let execution = app.executed(id).await;
    let detail = expect_json(
        app.get_execution(execution["actionExecutionId"].as_str().unwrap())
            .await,
        200,
    )
    .await;
    assert_eq!(detail["steps"][0]["attempts"], 0, "not tried yet: {detail}");
}
