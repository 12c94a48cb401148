use crate::helpers::{TestApp, action_body, expect_error, expect_json};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn create_returns_201_with_the_documented_shape() {
    let app = TestApp::spawn().await;
    let response = app.create_action(&action_body("Weekly Report")).await;
    let action = expect_json(response, 201).await;

    assert!(
        action["actionId"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .is_ok()
    );
    assert_eq!(action["projectId"], app.project.to_string());
    assert_eq!(action["name"], "Weekly Report");
    assert_eq!(action["description"], "Generate weekly analysis report");
    assert_eq!(action["isEnabled"], true);
    assert_eq!(action["maxRunTime"], 1800);
    assert_eq!(action["actionStatus"], "Idle");
    // The weekly trigger (Mondays from 2024-01-08, midnight UTC) fires next on a Monday.
    let next = timestamp(&action["nextRunTime"]);
    assert!(next > chrono::Utc::now());
    assert_eq!(next.format("%a %H:%M").to_string(), "Mon 00:00");
    assert_eq!(action["lastRunTime"], Value::Null);
    assert_eq!(action["lastRunResult"], Value::Null);
    assert!(action["dateCreated"].as_str().unwrap().ends_with('Z'));
    assert_eq!(action["dateCreated"], action["dateModified"]);
    assert_eq!(action["createdBy"], action["modifiedBy"]);

    let steps = action["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["stepNumber"], 1);
    assert_eq!(steps[0]["stepType"], "Python");
    assert_eq!(steps[0]["actionId"], action["actionId"]);
    assert_eq!(steps[0]["settings"], "{\"script\": \"generate_report.py\"}");
    assert_eq!(steps[1]["stepType"], "Email");
    assert!(steps[0]["stepId"].is_string() && steps[0]["dateCreated"].is_string());

    let triggers = action["triggers"].as_array().unwrap();
    assert_eq!(triggers.len(), 1);
    assert_eq!(triggers[0]["triggerType"], "WeeklyScheduler");
    assert_eq!(triggers[0]["frequency"], 1);
    assert_eq!(triggers[0]["startDate"], "2024-01-08");
    assert_eq!(triggers[0]["settings"], "{}");
    assert_eq!(triggers[0]["eventName"], Value::Null);
    assert_eq!(triggers[0]["actionId"], action["actionId"]);
}

#[tokio::test]
async fn get_and_list_return_what_was_created() {
    let app = TestApp::spawn().await;
    let first = app.created(&action_body("first")).await;
    let second = app.created(&action_body("second")).await;

    let got = expect_json(
        app.get_action(first["actionId"].as_str().unwrap()).await,
        200,
    )
    .await;
    assert_eq!(got, first);

    let list = expect_json(app.list_actions().await, 200).await;
    assert_eq!(list["totalCount"], 2);
    assert_eq!(list["actions"], json!([first, second]));
}

#[tokio::test]
async fn empty_project_lists_nothing() {
    let app = TestApp::spawn().await;
    let list = expect_json(app.list_actions().await, 200).await;
    assert_eq!(list, json!({"actions": [], "totalCount": 0}));
}

#[tokio::test]
async fn defaults_apply_when_fields_are_omitted() {
    let app = TestApp::spawn().await;
    let action = app
        .created(&json!({
            "name": "minimal",
            "steps": [
                {"stepType": "Webhook", "settings": "{\"url\": \"https://example.com/hook\"}"},
                {"stepType": "Python", "settings": "{\"code\": \"result = 1\"}"}
            ],
            "triggers": [{"triggerType": "EventTrigger", "eventName": "invoice.paid"}]
        }))
        .await;
    assert_eq!(action["isEnabled"], true);
    assert_eq!(action["maxRunTime"], 3600);
    assert_eq!(action["description"], Value::Null);
    assert_eq!(action["steps"][0]["stepNumber"], 1);
    assert_eq!(action["steps"][1]["stepNumber"], 2);
    assert_eq!(action["triggers"][0]["frequency"], 1);
    assert_eq!(action["triggers"][0]["eventName"], "invoice.paid");
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(action["triggers"][0]["startDate"], today);
}

#[tokio::test]
async fn steps_come_back_ordered_by_step_number() {
    let app = TestApp::spawn().await;
    let action = app
        .created(&json!({
            "name": "ordered",
            "steps": [
                {"stepNumber": 3, "stepType": "Python", "settings": "{\"code\": \"c = 3\"}"},
                {"stepNumber": 1, "stepType": "Python", "settings": "{\"code\": \"a = 1\"}"},
                {"stepNumber": 2, "stepType": "Python", "settings": "{\"code\": \"b = 2\"}"}
            ]
        }))
        .await;
    let numbers: Vec<i64> = action["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stepNumber"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 2, 3]);
    assert_eq!(action["steps"][0]["settings"], "{\"code\": \"a = 1\"}");
}

#[tokio::test]
async fn settings_given_as_an_object_are_answered_as_a_string() {
    let app = TestApp::spawn().await;
    let action = app
        .created(&json!({
            "name": "object settings",
            "steps": [{"stepType": "Webhook", "settings": {"url": "https://example.com", "method": "POST"}}],
            "triggers": [{"triggerType": "DailyScheduler", "settings": {"time": "06:00"}}]
        }))
        .await;
    let settings = action["steps"][0]["settings"].as_str().unwrap();
    let parsed: Value = serde_json::from_str(settings).unwrap();
    assert_eq!(
        parsed,
        json!({"url": "https://example.com", "method": "POST"})
    );
    assert_eq!(action["triggers"][0]["settings"], "{\"time\":\"06:00\"}");
}

#[tokio::test]
async fn duplicate_name_is_409_with_capital_error() {
    let app = TestApp::spawn().await;
    app.created(&action_body("Weekly Report")).await;
    let response = app.create_action(&action_body("Weekly Report")).await;
    let body = expect_json(response, 409).await;
    assert_eq!(
        body,
        json!({"Error": "An action with this name already exists in the project"})
    );
    // The name is unique per project only: another project of the same tenant may reuse it.
    let other = app
        .client
        .post(format!(
            "{}/api/{}/{}/action",
            app.address,
            app.tenant,
            uuid::Uuid::new_v4()
        ))
        .bearer_auth(&app.token)
        .json(&action_body("Weekly Report"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 201);
}

#[tokio::test]
async fn renaming_onto_a_taken_name_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.created(&action_body("taken")).await;
    let action = app.created(&action_body("mine")).await;
    let id = action["actionId"].as_str().unwrap();
    let response = app
        .update_action(id, &json!({"name": "taken", "maxRunTime": 60}))
        .await;
    let body = expect_json(response, 409).await;
    assert_eq!(
        body["Error"],
        "An action with this name already exists in the project"
    );
    let after = expect_json(app.get_action(id).await, 200).await;
    assert_eq!(after, action);
}

#[tokio::test]
async fn unknown_action_is_404_with_its_id() {
    let app = TestApp::spawn().await;
    let id = uuid::Uuid::new_v4().to_string();
    let expected = json!({"error": "Action not found", "actionId": id});
    assert_eq!(expect_json(app.get_action(&id).await, 404).await, expected);
    assert_eq!(
        expect_json(app.update_action(&id, &json!({"name": "x"})).await, 404).await,
        expected
    );
    assert_eq!(
        expect_json(app.delete_action(&id).await, 404).await,
        expected
    );
    assert_eq!(
        expect_json(app.enable_action(&id).await, 404).await,
        expected
    );
    assert_eq!(
        expect_json(app.disable_action(&id).await, 404).await,
        expected
    );
}

#[tokio::test]
async fn partial_update_changes_only_given_fields() {
    let app = TestApp::spawn().await;
    let action = app.created(&action_body("Weekly Report")).await;
    let id = action["actionId"].as_str().unwrap();

    let updated = expect_json(
        app.update_action(id, &json!({"name": "Updated Weekly Report"}))
            .await,
        200,
    )
    .await;
    assert_eq!(updated["name"], "Updated Weekly Report");
    for same in [
        "actionId",
        "description",
        "isEnabled",
        "maxRunTime",
        "steps",
        "triggers",
        "dateCreated",
        "createdBy",
    ] {
        assert_eq!(updated[same], action[same], "{same} changed");
    }
    assert!(timestamp(&updated["dateModified"]) > timestamp(&action["dateModified"]));

    let updated = expect_json(
        app.update_action(
            id,
            &json!({"maxRunTime": 60, "isEnabled": false, "description": ""}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["maxRunTime"], 60);
    assert_eq!(updated["isEnabled"], false);
    assert_eq!(updated["description"], "");
    assert_eq!(updated["name"], "Updated Weekly Report");

    // An empty body changes nothing but the modification stamp.
    let same = expect_json(app.update_action(id, &json!({})).await, 200).await;
    assert_eq!(same["steps"], action["steps"]);
    assert_eq!(same["maxRunTime"], 60);
}

#[tokio::test]
async fn step_list_is_replaced_keeping_named_ids() {
    let app = TestApp::spawn().await;
    let action = app.created(&action_body("replace steps")).await;
    let id = action["actionId"].as_str().unwrap();
    let kept = action["steps"][0].clone();

    let updated = expect_json(
        app.update_action(
            id,
            &json!({"steps": [
                {"stepId": kept["stepId"], "stepNumber": 2, "stepType": "Python",
                 "description": "Updated step", "settings": "{\"script\": \"updated_report.py\"}"},
                {"stepNumber": 1, "stepType": "Webhook", "settings": "{\"url\": \"https://example.com\"}"}
            ]}),
        )
        .await,
        200,
    )
    .await;
    let steps = updated["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "the Email step not named was removed");
    assert_eq!(steps[0]["stepType"], "Webhook");
    assert_ne!(steps[0]["stepId"], kept["stepId"]);
    assert_eq!(
        steps[1]["stepId"], kept["stepId"],
        "named step keeps its id"
    );
    assert_eq!(steps[1]["stepNumber"], 2);
    assert_eq!(steps[1]["description"], "Updated step");
    assert_eq!(steps[1]["settings"], "{\"script\": \"updated_report.py\"}");
    assert_eq!(
        steps[1]["dateCreated"], kept["dateCreated"],
        "named step keeps its creation time"
    );
    assert!(!steps.iter().any(|s| s["stepType"] == "Email"));
    assert_eq!(
        updated["triggers"], action["triggers"],
        "triggers untouched"
    );
    assert_eq!(expect_json(app.get_action(id).await, 200).await, updated);
}

#[tokio::test]
async fn trigger_list_is_replaced_keeping_named_ids() {
    let app = TestApp::spawn().await;
    let action = app.created(&action_body("replace triggers")).await;
    let id = action["actionId"].as_str().unwrap();
    let kept = action["triggers"][0].clone();

    let updated = expect_json(
        app.update_action(
            id,
            &json!({"triggers": [
                {"triggerId": kept["triggerId"], "triggerType": "DailyScheduler", "frequency": 2,
                 "startDate": "2024-02-01"},
                {"triggerType": "EventTrigger", "eventName": "report.requested"}
            ]}),
        )
        .await,
        200,
    )
    .await;
    let triggers = updated["triggers"].as_array().unwrap();
    assert_eq!(triggers.len(), 2);
    let daily = triggers
        .iter()
        .find(|t| t["triggerId"] == kept["triggerId"])
        .unwrap();
    assert_eq!(daily["triggerType"], "DailyScheduler");
    assert_eq!(daily["frequency"], 2);
    assert_eq!(daily["startDate"], "2024-02-01");
    assert!(
        triggers
            .iter()
            .any(|t| t["eventName"] == "report.requested")
    );
    assert_eq!(updated["steps"], action["steps"], "steps untouched");

    let cleared = expect_json(app.update_action(id, &json!({"triggers": []})).await, 200).await;
    assert_eq!(cleared["triggers"], json!([]));
}

#[tokio::test]
async fn ids_of_another_action_cannot_be_taken_over() {
    let app = TestApp::spawn().await;
    let a = app.created(&action_body("a")).await;
    let b = app.created(&action_body("b")).await;
    let foreign_step = a["steps"][0]["stepId"].clone();
    let response = app
        .update_action(
            b["actionId"].as_str().unwrap(),
            &json!({"steps": [{"stepId": foreign_step, "stepType": "Python", "settings": "{}"}]}),
        )
        .await;
    expect_error(response, 400, "does not belong to this action").await;
    let foreign_trigger = a["triggers"][0]["triggerId"].clone();
    let response = app
        .update_action(
            b["actionId"].as_str().unwrap(),
            &json!({"triggers": [{"triggerId": foreign_trigger, "triggerType": "DailyScheduler"}]}),
        )
        .await;
    expect_error(response, 400, "triggers").await;
    // Nothing changed on either action.
    assert_eq!(
        expect_json(app.get_action(a["actionId"].as_str().unwrap()).await, 200).await,
        a
    );
    assert_eq!(
        expect_json(app.get_action(b["actionId"].as_str().unwrap()).await, 200).await,
        b
    );
}

#[tokio::test]
async fn a_step_id_given_on_create_is_not_used() {
    let app = TestApp::spawn().await;
    let a = app.created(&action_body("a")).await;
    let mut body = action_body("b");
    body["steps"][0]["stepId"] = a["steps"][0]["stepId"].clone();
    let b = app.created(&body).await;
    assert_ne!(b["steps"][0]["stepId"], a["steps"][0]["stepId"]);
}

#[tokio::test]
async fn enable_and_disable_toggle_is_enabled() {
    let app = TestApp::spawn().await;
    let action = app.created(&action_body("toggle")).await;
    let id = action["actionId"].as_str().unwrap();

    let disabled = expect_json(app.disable_action(id).await, 200).await;
    assert_eq!(disabled["isEnabled"], false);
    assert_eq!(disabled["name"], "toggle");
    assert_eq!(disabled["steps"], action["steps"]);
    // Disabling twice is harmless.
    assert_eq!(
        expect_json(app.disable_action(id).await, 200).await["isEnabled"],
        false
    );

    let enabled = expect_json(app.enable_action(id).await, 200).await;
    assert_eq!(enabled["isEnabled"], true);
    assert_eq!(
        expect_json(app.get_action(id).await, 200).await["isEnabled"],
        true
    );
}

#[tokio::test]
async fn delete_is_204_with_empty_body_and_the_action_is_gone() {
    let app = TestApp::spawn().await;
    let action = app.created(&action_body("doomed")).await;
    let id = action["actionId"].as_str().unwrap();

    let response = app.delete_action(id).await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());

    expect_error(app.get_action(id).await, 404, "Action not found").await;
    expect_error(app.delete_action(id).await, 404, "Action not found").await;
    assert_eq!(
        expect_json(app.list_actions().await, 200).await["totalCount"],
        0
    );
    // The name is free again.
    app.created(&action_body("doomed")).await;
}

#[tokio::test]
async fn pings_answer_as_documented() {
    let app = TestApp::spawn().await;
    for resource in ["action", "actionexecution"] {
        let response = app.ping(resource).await;
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert_eq!(
            response.text().await.unwrap(),
            format!("Ping Successful (tenant id: {})", app.tenant)
        );

        let response = app.unauthorized_ping(resource).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "Ping Successful");

        let response = app
            .client
            .get(format!("{}/{resource}/ping", app.base()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app.list_actions().await;
    let generated = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(generated.parse::<uuid::Uuid>().is_ok(), "{generated}");

    let response = app
        .request(Method::GET, "/action")
        .header("x-request-id", "caller-chosen-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "caller-chosen-42");

    // Errors and unknown routes too.
    let response = app
        .client
        .get(format!("{}/nowhere", app.address))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    expect_error(response, 404, "no route").await;
}

#[tokio::test]
async fn health_endpoints_answer_without_a_token() {
    let app = TestApp::spawn().await;
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(health, 200).await["status"], "ok");
    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(ready, 200).await["database"], "ok");
}

fn timestamp(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str().unwrap().parse().unwrap()
}
