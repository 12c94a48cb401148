//! An action's `retentionDays`: shown on the action, set on create and update, 0 back to the
//! service's default; out of range is a 400 naming it.

use crate::helpers::{TestApp, action_body, expect_error, expect_json};
use serde_json::{Value, json};

#[tokio::test]
async fn retention_days_is_set_shown_and_reset() {
    let app = TestApp::spawn().await;
    let plain = app.created(&action_body("plain")).await;
    assert_eq!(plain["retentionDays"], Value::Null, "the default: {plain}");

    let mut body = action_body("kept a week");
    body["retentionDays"] = json!(7);
    let action = app.created(&body).await;
    assert_eq!(action["retentionDays"], 7);
    let id = action["actionId"].as_str().unwrap();

    let longer = expect_json(
        app.update_action(id, &json!({"retentionDays": 400})).await,
        200,
    )
    .await;
    assert_eq!(longer["retentionDays"], 400);
    let untouched = expect_json(
        app.update_action(id, &json!({"name": "renamed", "retentionDays": null}))
            .await,
        200,
    )
    .await;
    assert_eq!(untouched["retentionDays"], 400, "null leaves it as it is");
    let reset = expect_json(
        app.update_action(id, &json!({"retentionDays": 0})).await,
        200,
    )
    .await;
    assert_eq!(reset["retentionDays"], Value::Null);
    assert_eq!(
        expect_json(app.get_action(id).await, 200).await["retentionDays"],
        Value::Null
    );

    for bad in [json!(-1), json!(36501), json!(1.5), json!("7")] {
        expect_error(
            app.update_action(id, &json!({"retentionDays": bad})).await,
            400,
            "retentionDays",
        )
        .await;
    }
}
