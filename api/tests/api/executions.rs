use crate::helpers::{TestApp, action_body, expect_error, expect_json};
use actuate_shared::domain::ids::{ExecutionId, TenantId};
use actuate_shared::storage::{ClaimOutcome, FinalOutcome};
use actuate_tests::broker;
use actuate_tests::proxy::ToggleProxy;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::Read;
use std::time::Duration;

fn id(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap().to_string()
}

#[tokio::test]
async fn execute_answers_the_documented_body_and_publishes_ids_only() {
    let app = TestApp::spawn().await;
    let action = app.created(&action_body("run me")).await;
    let action_id = id(&action, "actionId");

    let execution = app.executed(&action_id).await;
    let keys: HashSet<&str> = execution
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from([
            "actionId",
            "actionExecutionId",
            "dateStarted",
            "dateEnded",
            "status",
            "notes"
        ])
    );
    assert_eq!(execution["actionId"], action_id);
    assert_eq!(execution["status"], "Queued");
    assert_eq!(execution["dateEnded"], Value::Null);
    assert_eq!(execution["notes"], Value::Null);
    assert!(execution["dateStarted"].as_str().unwrap().ends_with('Z'));

    let messages = broker::take_messages(&app.queue, 1, Duration::from_secs(10)).await;
    assert_eq!(messages.len(), 1, "the relay published the execution");
    assert_eq!(
        messages[0].execution_id.to_string(),
        id(&execution, "actionExecutionId")
    );
    assert_eq!(messages[0].tenant_id, app.tenant);
    assert_eq!(messages[0].project_id, app.project);

    // The relay removes the row once the broker confirmed it, which may come just after the
    // message is already delivered.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let outbox = app.store.count_outbox(None).await.unwrap();
        if outbox == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "published rows leave the outbox: {outbox} left"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn each_execute_creates_a_new_execution() {
    let app = TestApp::spawn().await;
    let action_id = id(&app.created(&action_body("twice")).await, "actionId");
    let first = app.executed(&action_id).await;
    let second = app.executed(&action_id).await;
    assert_ne!(first["actionExecutionId"], second["actionExecutionId"]);
    let messages = broker::take_messages(&app.queue, 2, Duration::from_secs(10)).await;
    assert_eq!(messages.len(), 2);
}

#[tokio::test]
async fn disabled_and_unknown_actions_cannot_execute() {
    let app = TestApp::spawn().await;
    let action_id = id(&app.created(&action_body("off")).await, "actionId");
    app.disable_action(&action_id).await;
    let body = expect_json(app.execute(&action_id).await, 404).await;
    assert_eq!(
        body,
        json!({"error": "Action can't create execution", "actionId": action_id})
    );
    let body = expect_json(app.execute_post(&action_id, None, None).await, 404).await;
    assert_eq!(body["error"], "Action can't create execution");

    let unknown = uuid::Uuid::new_v4().to_string();
    let body = expect_json(app.execute(&unknown).await, 404).await;
    assert_eq!(
        body,
        json!({"error": "Action not found", "actionId": unknown})
    );

    let count = app.store.count_executions(None).await.unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn post_execute_hands_input_to_the_execution() {
    let app = TestApp::spawn().await;
    let action_id = id(&app.created(&action_body("with input")).await, "actionId");
    let input = json!({"customer": "ACME", "rows": [1, 2, 3]});
    let execution = expect_json(
        app.execute_post(&action_id, Some(&json!({"input": input})), None)
            .await,
        200,
    )
    .await;
    let detail = expect_json(
        app.get_execution(&id(&execution, "actionExecutionId"))
            .await,
        200,
    )
    .await;
    assert_eq!(detail["input"], input);
    assert_eq!(detail["trigger"], "manual");
    assert_eq!(detail["attempt"], 0);

    // No body at all is fine too; a body that is not JSON is not.
    let plain = app.execute_post(&action_id, None, None).await;
    assert_eq!(plain.status(), 200);
    let bad = app
        .request(
            reqwest::Method::POST,
            &format!("/action/execute/{action_id}"),
        )
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_error(bad, 400, "invalid JSON body").await;
}

#[tokio::test]
async fn idempotency_key_returns_the_first_execution() {
    let app = TestApp::spawn().await;
    let action_id = id(&app.created(&action_body("idem")).await, "actionId");
    let first = expect_json(
        app.execute_post(&action_id, None, Some("order-42")).await,
        200,
    )
    .await;
    let again = expect_json(
        app.execute_post(&action_id, None, Some("order-42")).await,
        200,
    )
    .await;
    assert_eq!(first, again);
    // The documented GET honours it too.
    let via_get = app
        .request(
            reqwest::Method::GET,
            &format!("/action/execute/{action_id}"),
        )
        .header("idempotency-key", "order-42")
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_json(via_get, 200).await["actionExecutionId"],
        first["actionExecutionId"]
    );

    let other = expect_json(
        app.execute_post(&action_id, None, Some("order-43")).await,
        200,
    )
    .await;
    assert_ne!(other["actionExecutionId"], first["actionExecutionId"]);

    // Concurrent retries with one key create one execution.
    let mut handles = Vec::new();
    for _ in 0..10 {
        let request = app
            .request(
                reqwest::Method::POST,
                &format!("/action/execute/{action_id}"),
            )
            .header("idempotency-key", "burst");
        handles.push(tokio::spawn(async move {
            request.send().await.unwrap().json::<Value>().await.unwrap()
        }));
    }
    let mut ids = HashSet::new();
    for h in handles {
        ids.insert(
            h.await.unwrap()["actionExecutionId"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(ids.len(), 1, "one execution for one key");

    let count = app.store.count_executions(None).await.unwrap();
    assert_eq!(count, 3);

    for bad in ["", &"k".repeat(256), "white space", "ünïcode"] {
        let response = app
            .request(
                reqwest::Method::POST,
                &format!("/action/execute/{action_id}"),
            )
            .header("idempotency-key", bad)
            .send()
            .await;
        if let Ok(response) = response {
            expect_error(response, 400, "Idempotency-Key").await;
        }
    }
}

#[tokio::test]
async fn an_execution_keeps_the_steps_it_was_queued_with() {
    let app = TestApp::spawn().await;
    let action = app.created(&action_body("snapshot")).await;
    let action_id = id(&action, "actionId");
    let execution = app.executed(&action_id).await;

    app.update_action(
        &action_id,
        &json!({"maxRunTime": 60, "steps": [{"stepType": "Webhook", "settings": "{\"url\": \"https://example.com\"}"}]}),
    )
    .await;
    let detail = expect_json(
        app.get_execution(&id(&execution, "actionExecutionId"))
            .await,
        200,
    )
    .await;
    let steps = detail["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "the snapshot has the two original steps");
    assert_eq!(steps[0]["stepType"], "Python");
    assert_eq!(steps[0]["stepId"], action["steps"][0]["stepId"]);
    assert_eq!(steps[0]["status"], "Pending");
    assert_eq!(steps[1]["stepType"], "Email");
    let execution_id = id(&execution, "actionExecutionId").parse().unwrap();
    let max_run_time = app
        .store
        .execution_max_run_time(execution_id)
        .await
        .unwrap();
    assert_eq!(
        max_run_time,
        Some(1800),
        "maxRunTime is part of the snapshot"
    );
}

#[tokio::test]
async fn history_lists_newest_first_and_filters() {
    let app = TestApp::spawn().await;
    let action_id = id(&app.created(&action_body("history")).await, "actionId");
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(id(&app.executed(&action_id).await, "actionExecutionId"));
    }
    let cancelled = ids[0].clone();
    expect_json(app.cancel_execution(&cancelled).await, 200).await;

    let list = expect_json(app.list_executions(&action_id, "").await, 200).await;
    let listed: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| id(e, "actionExecutionId"))
        .collect();
    assert_eq!(listed, vec![ids[2].clone(), ids[1].clone(), ids[0].clone()]);
    assert_eq!(
        list.as_object().unwrap().len(),
        1,
        "only items on a last page: {list}"
    );

    let page = expect_json(
        app.list_executions(&action_id, "?limit=1&offset=1").await,
        200,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["actionExecutionId"], ids[1]);
    let failed = expect_json(app.list_executions(&action_id, "?status=Failed").await, 200).await;
    assert_eq!(failed["items"].as_array().unwrap().len(), 1);
    assert_eq!(failed["items"][0]["actionExecutionId"], cancelled);

    expect_error(
        app.list_executions(&action_id, "?limit=0").await,
        400,
        "limit",
    )
    .await;
    expect_error(
        app.list_executions(&action_id, "?status=Done").await,
        400,
        "status",
    )
    .await;
    expect_error(
        app.list_executions(&action_id, "?limit=abc").await,
        400,
        "query",
    )
    .await;

    let last = expect_json(app.last_execution(&action_id).await, 200).await;
    assert_eq!(last["actionExecutionId"], ids[2]);

    let unknown = uuid::Uuid::new_v4().to_string();
    let body = expect_json(app.list_executions(&unknown, "").await, 404).await;
    assert_eq!(
        body,
        json!({"error": "Action not found", "actionId": unknown})
    );
    expect_error(app.last_execution(&unknown).await, 404, "Action not found").await;

    let idle = id(&app.created(&action_body("never run")).await, "actionId");
    assert_eq!(
        expect_json(app.list_executions(&idle, "").await, 200).await,
        json!({"items": []})
    );
    let body = expect_json(app.last_execution(&idle).await, 404).await;
    assert_eq!(body["actionId"], idle);
}

#[tokio::test]
async fn unknown_execution_is_404_with_its_id() {
    let app = TestApp::spawn().await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let expected = json!({"error": "Execution not found", "actionExecutionId": unknown});
    assert_eq!(
        expect_json(app.get_execution(&unknown).await, 404).await,
        expected
    );
    assert_eq!(
        expect_json(app.cancel_execution(&unknown).await, 404).await,
        expected
    );
    assert_eq!(
        expect_json(app.download_package(&unknown).await, 404).await,
        expected
    );
    expect_error(app.get_execution("nope").await, 400, "actionExecutionId").await;
}

#[tokio::test]
async fn cancel_ends_a_queued_execution_at_once() {
    let app = TestApp::spawn().await;
    let action_id = id(&app.created(&action_body("cancel me")).await, "actionId");
    let execution_id = id(&app.executed(&action_id).await, "actionExecutionId");

    let cancelled = expect_json(app.cancel_execution(&execution_id).await, 200).await;
    assert_eq!(cancelled["status"], "Failed");
    assert_eq!(cancelled["notes"], "cancelled");
    assert!(cancelled["dateEnded"].is_string());
    let detail = expect_json(app.get_execution(&execution_id).await, 200).await;
    assert!(
        detail["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "Skipped")
    );

    let again = expect_json(app.cancel_execution(&execution_id).await, 409).await;
    assert_eq!(again["status"], "Failed");
    assert_eq!(again["actionExecutionId"], execution_id);
}

#[tokio::test]
async fn action_status_and_last_run_follow_executions() {
    let app = TestApp::spawn().await;
    let action_id = id(&app.created(&action_body("tracked")).await, "actionId");
    let execution = app.executed(&action_id).await;
    let execution_id: ExecutionId = id(&execution, "actionExecutionId").parse().unwrap();
    let scope = actuate_shared::domain::ids::Scope {
        tenant_id: app.tenant,
        project_id: app.project,
    };

    let ClaimOutcome::Claimed(claimed) = app
        .store
        .claim_execution(scope, execution_id, "test-worker", Duration::from_secs(30))
        .await
        .unwrap()
    else {
        panic!("claim failed")
    };
    let running = expect_json(app.get_action(&action_id).await, 200).await;
    assert_eq!(running["actionStatus"], "Running");
    assert_eq!(running["lastRunTime"], Value::Null);

    assert!(
        app.store
            .finish_execution(claimed.fence, FinalOutcome::Completed, None)
            .await
            .unwrap()
    );
    let done = expect_json(app.get_action(&action_id).await, 200).await;
    assert_eq!(done["actionStatus"], "Idle");
    assert_eq!(done["lastRunResult"], "Success");
    assert_eq!(done["lastRunTime"], execution["dateStarted"]);

    let second = app.executed(&action_id).await;
    expect_json(
        app.cancel_execution(&id(&second, "actionExecutionId"))
            .await,
        200,
    )
    .await;
    let failed = expect_json(app.get_action(&action_id).await, 200).await;
    assert_eq!(failed["lastRunResult"], "Failed");
    assert_eq!(failed["lastRunTime"], second["dateStarted"]);
    let listed = expect_json(app.list_actions().await, 200).await;
    assert_eq!(listed["actions"][0], failed);
}

#[tokio::test]
async fn executions_of_a_deleted_action_stay_readable() {
    let app = TestApp::spawn().await;
    let action_id = id(&app.created(&action_body("short-lived")).await, "actionId");
    let execution_id = id(&app.executed(&action_id).await, "actionExecutionId");
    assert_eq!(app.delete_action(&action_id).await.status(), 204);
    let detail = expect_json(app.get_execution(&execution_id).await, 200).await;
    assert_eq!(detail["actionName"], "short-lived");
    let list = expect_json(app.list_executions(&action_id, "").await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn download_package_is_a_zip_of_the_execution() {
    let app = TestApp::spawn().await;
    let action_id = id(&app.created(&action_body("packaged")).await, "actionId");
    let execution_id = id(&app.executed(&action_id).await, "actionExecutionId");
    let response = app.download_package(&execution_id).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&execution_id)
    );
    let bytes = response.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut text = String::new();
    zip.by_name("execution.json")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed["actionExecutionId"], execution_id);
    assert_eq!(parsed["steps"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn executions_are_invisible_to_other_tenants() {
    let app = TestApp::spawn().await;
    let action_id = id(&app.created(&action_body("private")).await, "actionId");
    let execution_id = id(&app.executed(&action_id).await, "actionExecutionId");
    let tenant_b = TenantId::new();
    let token_b = app.new_key(tenant_b, None).await;
    let base_b = format!("{}/api/{}/{}", app.address, tenant_b, app.project);
    for (method, path) in [
        (
            reqwest::Method::GET,
            format!("/actionexecution/{execution_id}"),
        ),
        (
            reqwest::Method::POST,
            format!("/actionexecution/{execution_id}/cancel"),
        ),
        (
            reqwest::Method::GET,
            format!("/actionexecution/downloadpackage/{execution_id}"),
        ),
        (
            reqwest::Method::GET,
            format!("/actionexecution/action/{action_id}"),
        ),
        (reqwest::Method::GET, format!("/action/execute/{action_id}")),
    ] {
        let response = app
            .client
            .request(method, format!("{base_b}{path}"))
            .bearer_auth(&token_b)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    // And a token of B on A's path is refused outright.
    let response = app
        .client
        .get(format!("{}/actionexecution/{execution_id}", app.base()))
        .bearer_auth(&token_b)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(
        expect_json(app.get_execution(&execution_id).await, 200).await["status"],
        "Queued"
    );
}

#[tokio::test]
async fn executes_are_accepted_while_the_broker_is_unreachable() {
    let proxy = ToggleProxy::start("127.0.0.1:5672".parse().unwrap()).await;
    let mut queue = broker::test_queue_settings();
    let direct = queue.clone();
    queue.url = format!("amqp://guest:guest@{}/%2f", proxy.addr);
    let app = TestApp::spawn_with_queue(queue).await;
    let action_id = id(&app.created(&action_body("outage")).await, "actionId");
    // Let the relay connect and declare the queue, then cut it off.
    app.executed(&action_id).await;
    assert_eq!(
        broker::take_messages(&direct, 1, Duration::from_secs(10))
            .await
            .len(),
        1
    );
    proxy.disable();

    let mut accepted = HashSet::new();
    for _ in 0..100 {
        accepted.insert(id(&app.executed(&action_id).await, "actionExecutionId"));
    }
    assert_eq!(accepted.len(), 100);
    let ready = expect_json(
        app.client
            .get(format!("{}/readyz", app.address))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        ready["database"], "ok",
        "the API stays ready: executes are still accepted"
    );

    proxy.enable();
    let messages = broker::take_messages(&direct, 100, Duration::from_secs(30)).await;
    let published: HashSet<String> = messages
        .iter()
        .map(|m| m.execution_id.to_string())
        .collect();
    assert_eq!(
        published, accepted,
        "every accepted execution was published once the broker was back"
    );
}
