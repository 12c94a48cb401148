//! The audit log: every change appears exactly once, with the key that made it; repeats that
//! change nothing add nothing; the list pages, filters and stays apart per tenant; and the
//! rows cannot be changed, even by SQL.

use crate::helpers::{TestApp, action_body, expect_json};
use actuate_api::cli::{self, KeysCommand};
use actuate_shared::domain::auth::Token;
use actuate_shared::domain::ids::{KeyId, TenantId};
use actuate_shared::storage::DynStore;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A key of the test's tenant: its id and token.
async fn key(app: &TestApp, name: &str) -> (KeyId, String) {
    let token = Token::generate();
    let key = app
        .store
        .create_api_key(app.tenant, None, Some(name.into()), false, token.hash())
        .await
        .unwrap();
    (key.key_id, token.expose().to_string())
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut request = app
        .client
        .request(method.clone(), format!("{}{path}", app.base()))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn all_entries(app: &TestApp, query: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/audit?limit=3{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = expect_json(app.request(Method::GET, &path).send().await.unwrap(), 200).await;
        entries.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return entries,
        }
    }
}

#[tokio::test]
async fn every_change_appears_once_with_the_key_that_made_it() {
    let app = TestApp::spawn().await;
    let (alice, a) = key(&app, "alice").await;
    let (bob, b) = key(&app, "bob").await;
    let mut expected: Vec<(&str, String, Option<KeyId>)> = Vec::new();

    let mut body = action_body("audited");
    body["triggers"] = json!([{"triggerType": "EventTrigger", "eventName": "order.paid"}]);
    let action = call(&app, &a, Method::POST, "/action", Some(body)).await;
    let action_id = action["actionId"].as_str().unwrap().to_string();
    expected.push(("action.create", action_id.clone(), Some(alice)));

    call(
        &app,
        &b,
        Method::PUT,
        &format!("/action/{action_id}"),
        Some(json!({"description": "new"})),
    )
    .await;
    expected.push(("action.update", action_id.clone(), Some(bob)));
    call(
        &app,
        &a,
        Method::POST,
        &format!("/action/{action_id}/disable"),
        None,
    )
    .await;
    expected.push(("action.disable", action_id.clone(), Some(alice)));
    call(
        &app,
        &b,
        Method::POST,
        &format!("/action/{action_id}/enable"),
        None,
    )
    .await;
    expected.push(("action.enable", action_id.clone(), Some(bob)));

    let first = call(
        &app,
        &a,
        Method::GET,
        &format!("/action/execute/{action_id}"),
        None,
    )
    .await;
    let first_id = first["actionExecutionId"].as_str().unwrap().to_string();
    expected.push(("execution.create", first_id.clone(), Some(alice)));
    // The same idempotency key twice: one change, one entry.
    let mut keyed = Vec::new();
    for _ in 0..2 {
        let response = app
            .client
            .post(format!("{}/action/execute/{action_id}", app.base()))
            .bearer_auth(&b)
            .header("idempotency-key", "once")
            .send()
            .await
            .unwrap();
        keyed.push(expect_json(response, 200).await["actionExecutionId"].clone());
    }
    assert_eq!(keyed[0], keyed[1]);
    expected.push((
        "execution.create",
        keyed[0].as_str().unwrap().into(),
        Some(bob),
    ));

    for _ in 0..2 {
        let response = app
            .client
            .post(format!("{}/action/event/order.paid", app.base()))
            .bearer_auth(&a)
            .header("idempotency-key", "event-once")
            .json(&json!({"n": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    expected.push(("event.raise", "order.paid".into(), Some(alice)));
    // An event nothing listens for changes nothing.
    call(
        &app,
        &a,
        Method::POST,
        "/action/event/nobody.listens",
        Some(json!({})),
    )
    .await;

    call(
        &app,
        &b,
        Method::POST,
        &format!("/actionexecution/{first_id}/cancel"),
        None,
    )
    .await;
    expected.push(("execution.cancel", first_id.clone(), Some(bob)));
    let rerun = call(
        &app,
        &a,
        Method::POST,
        &format!("/actionexecution/{first_id}/rerun"),
        None,
    )
    .await;
    expected.push((
        "execution.rerun",
        rerun["actionExecutionId"].as_str().unwrap().into(),
        Some(alice),
    ));
    let bulk = call(
        &app,
        &b,
        Method::POST,
        "/actionexecution/cancel",
        Some(json!({"actionId": action_id})),
    )
    .await;
    assert!(bulk["count"].as_u64().unwrap() >= 2, "{bulk}");
    for id in bulk["ids"].as_array().unwrap() {
        expected.push(("execution.cancel", id.as_str().unwrap().into(), Some(bob)));
    }

    call(
        &app,
        &a,
        Method::PUT,
        "/secret/TOKEN",
        Some(json!({"value": "v1"})),
    )
    .await;
    call(
        &app,
        &b,
        Method::PUT,
        "/secret/TOKEN",
        Some(json!({"value": "v2"})),
    )
    .await;
    expected.push(("secret.set", "TOKEN".into(), Some(alice)));
    expected.push(("secret.set", "TOKEN".into(), Some(bob)));
    call(&app, &a, Method::DELETE, "/secret/TOKEN", None).await;
    expected.push(("secret.delete", "TOKEN".into(), Some(alice)));
    call(&app, &b, Method::POST, "/webhooksecret/rotate", None).await;
    expected.push(("webhooksecret.rotate", "webhooksecret".into(), Some(bob)));
    call(
        &app,
        &a,
        Method::DELETE,
        &format!("/action/{action_id}"),
        None,
    )
    .await;
    expected.push(("action.delete", action_id.clone(), Some(alice)));

    // Operator commands: no key made them.
    let store: DynStore = app.store.clone();
    let (created, _) = cli::create_key(&*store, app.tenant, None, Some("ops".into()), true)
        .await
        .unwrap();
    expected.push(("key.create", created.key_id.to_string(), None));
    for _ in 0..2 {
        cli::keys(
            &*store,
            KeysCommand::Revoke {
                key_id: created.key_id,
            },
        )
        .await
        .unwrap();
    }
    expected.push(("key.revoke", created.key_id.to_string(), None));

    let entries = all_entries(&app, "").await;
    let got: Vec<(String, String, Option<KeyId>)> = entries
        .iter()
        .map(|e| {
            assert_eq!(e["tenantId"], app.tenant.to_string());
            assert!(!e["summary"].as_str().unwrap().is_empty(), "{e}");
            let key = e["keyId"].as_str().map(|k| k.parse().unwrap());
            (
                e["action"].as_str().unwrap().to_string(),
                e["targetId"].as_str().unwrap().to_string(),
                key,
            )
        })
        .collect();
    let count = |list: Vec<(String, String, Option<KeyId>)>| {
        let mut counts = BTreeMap::new();
        for item in list {
            *counts.entry(item).or_insert(0) += 1;
        }
        counts
    };
    let want = count(
        expected
            .iter()
            .map(|(a, t, k)| (a.to_string(), t.clone(), *k))
            .collect(),
    );
    assert_eq!(count(got), want);
    // Newest first, every entry once across the pages.
    let ids: Vec<&str> = entries
        .iter()
        .map(|e| e["auditId"].as_str().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    let times: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert_eq!(entries.last().unwrap()["action"], "action.create");

    // Filters.
    let about_action = all_entries(&app, &format!("&targetId={action_id}")).await;
    assert_eq!(
        about_action.len(),
        5,
        "create, update, disable, enable, delete"
    );
    let secrets = all_entries(&app, "&action=secret.set").await;
    assert_eq!(secrets.len(), 2);
    let until = entries.last().unwrap()["at"].as_str().unwrap();
    let none = all_entries(&app, &format!("&until={}", until.replace('+', "%2B"))).await;
    assert!(none.is_empty(), "{none:?}");
    let response = app
        .request(Method::GET, "/audit?action=action.explode")
        .send()
        .await
        .unwrap();
    crate::helpers::expect_error(response, 400, "action:").await;
    let response = app
        .request(Method::GET, "/audit?targetId=")
        .send()
        .await
        .unwrap();
    crate::helpers::expect_error(response, 400, "targetId: must not be empty").await;
}

#[tokio::test]
async fn tenants_and_projects_see_only_their_own_entries() {
    let app = TestApp::spawn().await;
    call(
        &app,
        &app.token.clone(),
        Method::PUT,
        "/secret/MINE",
        Some(json!({"value": "v"})),
    )
    .await;
    let other = app.new_key(TenantId::new(), None).await;
    let response = app
        .client
        .get(format!("{}/audit", app.base()))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let other_project = actuate_shared::domain::ids::ProjectId::new();
    let elsewhere = app
        .client
        .get(format!(
            "{}/api/{}/{other_project}/audit",
            app.address, app.tenant
        ))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(elsewhere, 200).await["items"], json!([]));
}

#[tokio::test]
async fn audit_rows_cannot_be_changed_or_deleted() {
    let app = TestApp::spawn().await;
    call(
        &app,
        &app.token.clone(),
        Method::PUT,
        "/secret/X",
        Some(json!({"value": "v"})),
    )
    .await;
    let statements = [
        "UPDATE audit_log SET summary = 'rewritten'",
        "DELETE FROM audit_log",
    ];
    for statement in statements {
        let refused = if app.database_url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            sqlx::query(statement)
                .execute(&pool)
                .await
                .unwrap_err()
                .to_string()
        } else {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            sqlx::query(statement)
                .execute(&pool)
                .await
                .unwrap_err()
                .to_string()
        };
        assert!(
            refused.contains("cannot be changed"),
            "{statement}: {refused}"
        );
    }
    let entries = all_entries(&app, "").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["summary"], "created");
}
