use crate::helpers::{TestApp, action_body, expect_error, expect_json};
use actuate_shared::domain::auth::Token;
use actuate_shared::domain::ids::{ProjectId, TenantId};
use reqwest::Method;

async fn status_with(app: &TestApp, authorization: Option<&str>) -> (u16, serde_json::Value) {
    let mut request = app.client.get(format!("{}/action", app.base()));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn missing_malformed_and_unknown_tokens_are_401() {
    let app = TestApp::spawn().await;
    let unknown = Token::generate();
    let cases = [
        (None, "missing Authorization header"),
        (Some("Basic dXNlcjpwYXNz".to_string()), "Bearer"),
        (Some("Bearer".to_string()), "Bearer"),
        (
            Some("Bearer not-a-token".to_string()),
            "malformed bearer token",
        ),
        (
            Some(format!("Bearer {}", unknown.expose())),
            "unknown API key",
        ),
        (Some(format!("Token {}", app.token)), "Bearer"),
    ];
    for (header, needle) in cases {
        let (status, body) = status_with(&app, header.as_deref()).await;
        assert_eq!(status, 401, "{header:?}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(needle),
            "{header:?}: {body}"
        );
    }
    // The scheme is case-insensitive, as HTTP says.
    let (status, _) = status_with(&app, Some(&format!("bearer {}", app.token))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn revoked_tokens_are_401() {
    let app = TestApp::spawn().await;
    let token = Token::generate();
    let key = app
        .store
        .create_api_key(app.tenant, None, None, false, token.hash())
        .await
        .unwrap();
    let header = format!("Bearer {}", token.expose());
    assert_eq!(status_with(&app, Some(&header)).await.0, 200);
    assert!(app.store.revoke_api_key(key.key_id).await.unwrap());
    let (status, body) = status_with(&app, Some(&header)).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "API key has been revoked");
}

#[tokio::test]
async fn a_token_in_the_query_string_is_not_accepted() {
    let app = TestApp::spawn().await;
    for param in ["access_token", "token", "api_key"] {
        let response = app
            .client
            .get(format!("{}/action?{param}={}", app.base(), app.token))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{param}");
    }
}

#[tokio::test]
async fn another_tenants_token_is_403_on_every_route() {
    let app = TestApp::spawn().await;
    let action = app.created(&action_body("tenant A's")).await;
    let id = action["actionId"].as_str().unwrap();
    let tenant_b = TenantId::new();
    let token_b = app.new_key(tenant_b, None).await;

    let routes = [
        (Method::GET, "/action".to_string()),
        (Method::POST, "/action".to_string()),
        (Method::GET, format!("/action/{id}")),
        (Method::PUT, format!("/action/{id}")),
        (Method::DELETE, format!("/action/{id}")),
        (Method::POST, format!("/action/{id}/enable")),
        (Method::POST, format!("/action/{id}/disable")),
        (Method::GET, "/action/ping".to_string()),
        (Method::GET, "/actionexecution/ping".to_string()),
    ];
    for (method, path) in routes {
        let response = app
            .client
            .request(method.clone(), format!("{}{path}", app.base()))
            .bearer_auth(&token_b)
            .json(&action_body("intruder"))
            .send()
            .await
            .unwrap();
        expect_error(response, 403, "tenant").await;
        let _ = (method, path);
    }
    // Nothing was changed or created.
    assert_eq!(expect_json(app.get_action(id).await, 200).await, action);
    assert_eq!(
        expect_json(app.list_actions().await, 200).await["totalCount"],
        1
    );
}

#[tokio::test]
async fn a_tenant_cannot_reach_another_tenants_action_by_id() {
    let app = TestApp::spawn().await;
    let victim = app.created(&action_body("victim")).await;
    let victim_id = victim["actionId"].as_str().unwrap();

    // Tenant B, on its own path, names tenant A's action id.
    let tenant_b = TenantId::new();
    let token_b = app.new_key(tenant_b, None).await;
    let base_b = format!("{}/api/{}/{}", app.address, tenant_b, app.project);
    for (method, suffix) in [
        (Method::GET, ""),
        (Method::PUT, ""),
        (Method::DELETE, ""),
        (Method::POST, "/enable"),
        (Method::POST, "/disable"),
    ] {
        let response = app
            .client
            .request(
                method.clone(),
                format!("{base_b}/action/{victim_id}{suffix}"),
            )
            .bearer_auth(&token_b)
            .json(&serde_json::json!({"name": "stolen"}))
            .send()
            .await
            .unwrap();
        let body = expect_json(response, 404).await;
        assert_eq!(body["error"], "Action not found", "{method} {suffix}");
    }
    let list = app
        .client
        .get(format!("{base_b}/action"))
        .bearer_auth(&token_b)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(list, 200).await["totalCount"], 0);

    // Tenant A, on its own path, names an action of tenant B.
    let b_action = app
        .client
        .post(format!("{base_b}/action"))
        .bearer_auth(&token_b)
        .json(&action_body("b's"))
        .send()
        .await
        .unwrap();
    let b_action = expect_json(b_action, 201).await;
    let response = app.get_action(b_action["actionId"].as_str().unwrap()).await;
    expect_error(response, 404, "Action not found").await;

    assert_eq!(
        expect_json(app.get_action(victim_id).await, 200).await,
        victim
    );
}

#[tokio::test]
async fn a_project_scoped_key_reaches_only_its_project() {
    let app = TestApp::spawn().await;
    let token = app.new_key(app.tenant, Some(app.project)).await;
    let own = app
        .client
        .get(format!("{}/action", app.base()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let other = app
        .client
        .get(format!(
            "{}/api/{}/{}/action",
            app.address,
            app.tenant,
            ProjectId::new()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    expect_error(other, 403, "project").await;
}

#[tokio::test]
async fn created_by_and_modified_by_record_the_key() {
    let app = TestApp::spawn().await;
    let token = Token::generate();
    let key = app
        .store
        .create_api_key(app.tenant, None, None, false, token.hash())
        .await
        .unwrap();
    let action = app.created(&action_body("stamped")).await;
    let id = action["actionId"].as_str().unwrap();
    let response = app
        .client
        .put(format!("{}/action/{id}", app.base()))
        .bearer_auth(token.expose())
        .json(&serde_json::json!({"description": "changed by the second key"}))
        .send()
        .await
        .unwrap();
    let updated = expect_json(response, 200).await;
    assert_eq!(updated["createdBy"], action["createdBy"]);
    assert_eq!(updated["modifiedBy"], key.key_id.to_string());
    assert_ne!(updated["modifiedBy"], updated["createdBy"]);
}

#[tokio::test]
async fn bad_path_ids_are_400_after_authentication() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!(
            "{}/api/not-a-guid/{}/action",
            app.address, app.project
        ))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "tenantId").await;
    let response = app
        .client
        .get(format!("{}/api/{}/nope/action", app.address, app.tenant))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "projectId").await;
    let response = app.get_action("12345").await;
    expect_error(response, 400, "actionId").await;
    // Without a token the answer is 401, whatever the path holds.
    let response = app
        .client
        .get(format!(
            "{}/api/not-a-guid/{}/action",
            app.address, app.project
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}
