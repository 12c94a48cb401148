//! An action's `maxConcurrency` and `concurrencyKey`: shown, set, cleared (0 and ""), bad
//! values 400s naming the field.

use crate::helpers::{TestApp, action_body, expect_error, expect_json};
use serde_json::{Value, json};

#[tokio::test]
async fn concurrency_fields_are_set_shown_and_cleared() {
    let app = TestApp::spawn().await;
    let plain = app.created(&action_body("unlimited")).await;
    assert_eq!(plain["maxConcurrency"], Value::Null);
    assert_eq!(plain["concurrencyKey"], Value::Null);

    let mut body = action_body("limited");
    body["maxConcurrency"] = json!(3);
    body["concurrencyKey"] = json!("{{ input.customerId }}");
    let action = app.created(&body).await;
    assert_eq!(action["maxConcurrency"], 3);
    assert_eq!(action["concurrencyKey"], "{{ input.customerId }}");
    let id = action["actionId"].as_str().unwrap();

    let kept = expect_json(
        app.update_action(id, &json!({"maxConcurrency": 5})).await,
        200,
    )
    .await;
    assert_eq!(kept["maxConcurrency"], 5);
    assert_eq!(
        kept["concurrencyKey"], "{{ input.customerId }}",
        "untouched"
    );
    let untouched = expect_json(
        app.update_action(id, &json!({"maxConcurrency": null, "concurrencyKey": null}))
            .await,
        200,
    )
    .await;
    assert_eq!(untouched["maxConcurrency"], 5, "null leaves it as it is");
    let cleared = expect_json(
        app.update_action(id, &json!({"maxConcurrency": 0, "concurrencyKey": ""}))
            .await,
        200,
    )
    .await;
    assert_eq!(cleared["maxConcurrency"], Value::Null);
    assert_eq!(cleared["concurrencyKey"], Value::Null);

    for (field, bad) in [
        ("maxConcurrency", json!(-1)),
        ("maxConcurrency", json!(10001)),
        ("maxConcurrency", json!(1.5)),
        ("concurrencyKey", json!("customerId")),
        ("concurrencyKey", json!("{{ input.a | upper }}")),
        ("concurrencyKey", json!("{{ input.a }}-{{ input.b }}")),
        ("concurrencyKey", json!(7)),
    ] {
        expect_error(
            app.update_action(id, &json!({field: bad})).await,
            400,
            field,
        )
        .await;
    }
}
