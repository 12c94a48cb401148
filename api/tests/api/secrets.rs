//! Secrets and the webhook signing secret over HTTP: values go in and never come out, the
//! store holds only ciphertext, projects and tenants are apart, and a rotation keeps the old
//! signing secret live for a day.

use crate::helpers::{TestApp, expect_error, expect_json};
use actuate_shared::domain::ids::{ProjectId, Scope, TenantId};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};

const CANARY: &str = "canary-7f3a9c1e-do-not-leak";

#[tokio::test]
async fn a_secret_is_set_replaced_listed_by_name_and_deleted() {
    let app = TestApp::spawn().await;
    let created = expect_json(
        app.put_secret("API_TOKEN", &json!({"value": CANARY})).await,
        201,
    )
    .await;
    assert_eq!(created["name"], "API_TOKEN");
    assert!(created.get("value").is_none(), "{created}");
    let first: DateTime<Utc> = created["createdAt"].as_str().unwrap().parse().unwrap();

    let replaced = expect_json(
        app.put_secret("API_TOKEN", &json!({"value": format!("{CANARY}-2")}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        replaced["createdAt"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        first
    );
    let updated: DateTime<Utc> = replaced["updatedAt"].as_str().unwrap().parse().unwrap();
    assert!(updated >= first);
    expect_json(app.put_secret("OTHER", &json!({"value": "x"})).await, 201).await;

    let list = app.list_secrets().await;
    let text = list.text().await.unwrap();
    assert!(!text.contains(CANARY), "a value was listed: {text}");
    let list: Value = serde_json::from_str(&text).unwrap();
    let names: Vec<&str> = list["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["API_TOKEN", "OTHER"]);

    let deleted = app.delete_secret("API_TOKEN").await;
    assert_eq!(deleted.status(), 204);
    expect_error(
        app.delete_secret("API_TOKEN").await,
        404,
        "secret API_TOKEN not found",
    )
    .await;
    let list = expect_json(app.list_secrets().await, 200).await;
    assert_eq!(list["secrets"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_store_holds_only_ciphertext() {
    let app = TestApp::spawn().await;
    expect_json(
        app.put_secret("DB_PASSWORD", &json!({"value": CANARY}))
            .await,
        201,
    )
    .await;
    let scope = Scope {
        tenant_id: app.tenant,
        project_id: app.project,
    };
    let sealed = app.store.sealed_secrets(scope).await.unwrap();
    assert_eq!(sealed.len(), 1);
    assert!(
        !sealed[0]
            .1
            .bytes
            .windows(CANARY.len())
            .any(|w| w == CANARY.as_bytes()),
        "the stored value is the plaintext"
    );
    let tables = app.store.tables_containing(CANARY).await.unwrap();
    assert!(
        tables.is_empty(),
        "the value is stored in clear in {tables:?}"
    );
    // The search itself works: a name is stored as it is (and named in the audit log).
    let tables = app.store.tables_containing("DB_PASSWORD").await.unwrap();
    assert_eq!(tables, ["audit_log", "secrets"]);
}

#[tokio::test]
async fn bad_names_and_values_are_400s_naming_the_problem() {
    let app = TestApp::spawn().await;
    expect_error(
        app.put_secret("1abc", &json!({"value": "v"})).await,
        400,
        "name:",
    )
    .await;
    expect_error(
        app.put_secret("a-b", &json!({"value": "v"})).await,
        400,
        "name:",
    )
    .await;
    expect_error(app.delete_secret("a.b").await, 400, "name:").await;
    expect_error(
        app.put_secret("A", &json!({"value": ""})).await,
        400,
        "value:",
    )
    .await;
    expect_error(
        app.put_secret("A", &json!({"value": "a\u{0}b"})).await,
        400,
        "NUL",
    )
    .await;
    let big = "x".repeat(64 * 1024 + 1);
    expect_error(
        app.put_secret("A", &json!({"value": big})).await,
        400,
        "at most",
    )
    .await;
    expect_error(
        app.put_secret("A", &json!({"value": 5})).await,
        400,
        "value",
    )
    .await;
    expect_error(app.put_secret("A", &json!({})).await, 400, "value").await;
    expect_error(
        app.put_secret("A", &json!({"value": "v", "extra": 1}))
            .await,
        400,
        "extra",
    )
    .await;
    let list = expect_json(app.list_secrets().await, 200).await;
    assert_eq!(list["secrets"], json!([]), "nothing was written");
}

#[tokio::test]
async fn projects_and_tenants_do_not_see_each_others_secrets() {
    let app = TestApp::spawn().await;
    expect_json(
        app.put_secret("SHARED", &json!({"value": CANARY})).await,
        201,
    )
    .await;

    // The same tenant-wide key, another project: nothing there.
    let other_project = ProjectId::new();
    let list = app
        .client
        .get(format!(
            "{}/api/{}/{other_project}/secret",
            app.address, app.tenant
        ))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(list, 200).await["secrets"], json!([]));

    // A key of another project of the tenant, and a key of another tenant: 403.
    let project_key = app.new_key(app.tenant, Some(other_project)).await;
    let other_tenant_key = app.new_key(TenantId::new(), None).await;
    for key in [project_key, other_tenant_key] {
        for (method, path) in [
            (Method::GET, "/secret"),
            (Method::PUT, "/secret/SHARED"),
            (Method::DELETE, "/secret/SHARED"),
            (Method::GET, "/webhooksecret"),
            (Method::POST, "/webhooksecret/rotate"),
        ] {
            let response = app
                .client
                .request(method.clone(), format!("{}{path}", app.base()))
                .bearer_auth(&key)
                .json(&json!({"value": "stolen"}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{method} {path}");
        }
    }
    let list = expect_json(app.list_secrets().await, 200).await;
    assert_eq!(list["secrets"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_webhook_signing_secret_is_made_once_and_a_rotation_keeps_the_old_one_a_day() {
    let app = TestApp::spawn().await;
    // First uses at once make one secret.
    let firsts = futures_util::future::join_all((0..8).map(|_| app.webhook_secret())).await;
    let mut secrets = Vec::new();
    for response in firsts {
        let body = expect_json(response, 200).await;
        secrets.push(body["secret"].as_str().unwrap().to_string());
    }
    assert!(secrets[0].starts_with("whsec_"), "{}", secrets[0]);
    assert!(secrets.iter().all(|s| s == &secrets[0]), "{secrets:?}");
    let first = secrets[0].clone();
    // Made once, and recorded once, as made by the caller's key.
    let made = expect_json(
        app.request(Method::GET, "/audit?action=webhooksecret.create")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let made = made["items"].as_array().unwrap();
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(made[0]["keyId"].is_string(), "{made:?}");

    let rotated = expect_json(app.rotate_webhook_secret().await, 200).await;
    let second = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    let current = expect_json(app.webhook_secret().await, 200).await;
    assert_eq!(current["secret"], second.as_str());

    let scope = Scope {
        tenant_id: app.tenant,
        project_id: app.project,
    };
    let stored = app.store.signing_secrets(scope).await.unwrap();
    assert_eq!(stored.len(), 2, "the old secret still signs");
    assert!(stored[0].expires_at.is_none());
    let expires = stored[1].expires_at.expect("the old one expires");
    let in_a_day = Utc::now() + chrono::Duration::hours(24);
    assert!((expires - in_a_day).num_seconds().abs() < 120, "{expires}");
    // Neither is stored in clear.
    for secret in [&first, &second] {
        let tables = app.store.tables_containing(secret).await.unwrap();
        assert!(tables.is_empty(), "{tables:?}");
    }
}

#[tokio::test]
async fn without_a_key_secrets_are_off_and_say_so() {
    let app = TestApp::spawn_without_secrets().await;
    expect_error(
        app.put_secret("A", &json!({"value": "v"})).await,
        409,
        "ACTUATE_SECRETS_KEY",
    )
    .await;
    expect_error(app.webhook_secret().await, 409, "ACTUATE_SECRETS_KEY").await;
    expect_error(
        app.rotate_webhook_secret().await,
        409,
        "ACTUATE_SECRETS_KEY",
    )
    .await;
    let list = expect_json(app.list_secrets().await, 200).await;
    assert_eq!(list["secrets"], json!([]));
}
