//! The example bodies and client sequences of the seed documents, run unchanged.

use crate::helpers::{TestApp, expect_json};
use serde_json::json;

/// The documentation's Python `ActionManager`, run by a real interpreter with `requests`.
#[tokio::test]
async fn python_action_manager_sequence_runs_unchanged() {
    let app = TestApp::spawn().await;
    let python = std::env::var("ACTUATE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/api/seed_action_manager.py"
    );
    let output = tokio::process::Command::new(&python)
        .arg(script)
        .env("ACTUATE_BASE_URL", &app.address)
        .env("ACTUATE_API_KEY", &app.token)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {python} ({e}); scripts/setup.sh installs it"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "seed client failed (needs python3 with requests; scripts/setup.sh installs it)\n\
         stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stdout.contains("seed sequence ok"), "{stdout}");
}

/// The JavaScript example's sequence and bodies, including its Python step with settings "{}".
#[tokio::test]
async fn javascript_example_bodies_are_accepted() {
    let app = TestApp::spawn().await;
    let action = app
        .created(&json!({
            "name": "Daily Report",
            "description": "Generate daily report",
            "isEnabled": true,
            "steps": [{"stepNumber": 1, "stepType": "Python", "description": "Run script", "settings": "{}"}],
            "triggers": [{"triggerType": "DailyScheduler", "frequency": 1, "startDate": "2024-01-15"}]
        }))
        .await;
    let id = action["actionId"].as_str().unwrap();
    assert_eq!(action["steps"][0]["settings"], "{}");
    assert_eq!(
        expect_json(app.disable_action(id).await, 200).await["isEnabled"],
        false
    );
    assert_eq!(
        expect_json(app.enable_action(id).await, 200).await["isEnabled"],
        true
    );
    let updated = expect_json(
        app.update_action(id, &json!({"name": "Updated Daily Report"}))
            .await,
        200,
    )
    .await;
    assert_eq!(updated["name"], "Updated Daily Report");
    assert_eq!(app.delete_action(id).await.status(), 204);
}

/// The create and update bodies of the management document (seeds/004).
#[tokio::test]
async fn documented_create_and_update_bodies() {
    let app = TestApp::spawn().await;
    let created = app
        .created(&crate::helpers::action_body("Weekly Report"))
        .await;
    let id = created["actionId"].as_str().unwrap();
    let step_id = created["steps"][0]["stepId"].clone();
    let trigger_id = created["triggers"][0]["triggerId"].clone();
    let updated = expect_json(
        app.update_action(
            id,
            &json!({
                "name": "Updated Weekly Report",
                "description": "Updated description",
                "isEnabled": true,
                "maxRunTime": 2400,
                "steps": [{"stepId": step_id, "stepNumber": 1, "stepType": "Python",
                           "description": "Updated step",
                           "settings": "{\"script\": \"updated_report.py\"}"}],
                "triggers": [{"triggerId": trigger_id, "triggerType": "DailyScheduler",
                              "frequency": 1, "startDate": "2024-02-01"}]
            }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["name"], "Updated Weekly Report");
    assert_eq!(updated["maxRunTime"], 2400);
    assert_eq!(updated["steps"].as_array().unwrap().len(), 1);
    assert_eq!(updated["steps"][0]["stepId"], step_id);
    assert_eq!(updated["triggers"][0]["triggerId"], trigger_id);
    assert_eq!(updated["triggers"][0]["triggerType"], "DailyScheduler");
    assert_eq!(updated["triggers"][0]["startDate"], "2024-02-01");
}
