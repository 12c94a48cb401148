//! The dashboard's guards, over plain HTTP (the browser test in `tests/` drives the pages):
//! the session cookie's attributes, CSRF and origin checks on forms, read-only keys, projects
//! of other keys, revoked keys and signed-out sessions, and escaping of stored text.

use crate::helpers::TestApp;
use actuate_shared::domain::auth::Token;
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::json;

/// A browser without a cookie jar: the session cookie is carried by hand.
struct Session {
    client: reqwest::Client,
    address: String,
    cookie: String,
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn sign_in(app: &TestApp, token: &str) -> Session {
    let client = no_redirects();
    let response = client
        .post(format!("{}/ui/login", app.address))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    let cookie = set.split(';').next().unwrap().to_string();
    Session {
        client,
        address: app.address.clone(),
        cookie,
    }
}

impl Session {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.address))
            .header("cookie", &self.cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// The CSRF token forms of `path` carry.
    async fn csrf(&self, path: &str) -> String {
        let page = self.get(path).await.text().await.unwrap();
        let start = page.find("name=\"csrf\" value=\"").expect("a form") + 19;
        page[start..start + page[start..].find('"').unwrap()].to_string()
    }
}

async fn action(app: &TestApp, name: &str) -> String {
    let created = app
        .create_action(&json!({"name": name,
            "steps": [{"stepType": "Python", "settings": "{\"code\": \"result = 1\"}"}]}))
        .await;
    assert_eq!(created.status(), 201);
    created.json::<serde_json::Value>().await.unwrap()["actionId"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_and_secure_behind_tls() {
    let app = TestApp::spawn().await;
    let client = no_redirects();
    for (proto, secure) in [(None, false), (Some("https"), true)] {
        let mut request = client
            .post(format!("{}/ui/login", app.address))
            .form(&[("token", app.token.as_str())]);
        if let Some(proto) = proto {
            request = request.header("x-forwarded-proto", proto);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], "/ui/projects");
        let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(cookie.contains("Path=/ui"), "{cookie}");
        assert_eq!(cookie.contains("Secure"), secure, "{cookie}");
        // The token is never in the cookie.
        assert!(!cookie.contains(&app.token), "{cookie}");
    }
    // A wrong key: the sign-in page again, 401, no cookie.
    let response = client
        .post(format!("{}/ui/login", app.address))
        .form(&[("token", Token::generate().expose())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get(SET_COOKIE).is_none());
    // Pages without a session send you to sign in.
    let response = client
        .get(format!("{}/ui/p/{}/actions", app.address, app.project))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/ui/login");
}

#[tokio::test]
async fn forms_need_the_sessions_token_the_same_origin_and_a_read_write_key() {
    let app = TestApp::spawn().await;
    let action_id = action(&app, "guarded").await;
    let page = format!("/ui/p/{}/actions/{action_id}", app.project);
    let execute = format!("{page}/execute");
    let session = sign_in(&app, &app.token).await;
    let csrf = session.csrf(&page).await;

    // Without the token, with another session's, or from another site: refused.
    let other = sign_in(&app, &app.token).await;
    let others = other.csrf(&page).await;
    for token in ["", "forged", others.as_str()] {
        let refused = session.post(&execute, &[("csrf", token)]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "csrf {token:?}");
    }
    let cross_site = session
        .client
        .post(format!("{}{execute}", session.address))
        .header("cookie", &session.cookie)
        .header("origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let listed: serde_json::Value = app
        .list_executions(&action_id, "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]), "nothing ran");
    // Behind a proxy that rewrites Host, its X-Forwarded-Host is the origin's host.
    let proxied = session
        .client
        .post(format!("{}{execute}", session.address))
        .header("cookie", &session.cookie)
        .header("origin", "https://actuate.example.com")
        .header("x-forwarded-host", "actuate.example.com")
        .form(&[("csrf", csrf.as_str()), ("input", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), StatusCode::SEE_OTHER);

    // With it: executed, and the answer leads to the execution's page.
    let done = session
        .post(&execute, &[("csrf", &csrf), ("input", r#"{"n": 1}"#)])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let location = done.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(location.starts_with(&format!("/ui/p/{}/executions/", app.project)));
    // Bad input JSON: the action's page with the reason, 400, nothing run.
    let bad = session
        .post(&execute, &[("csrf", &csrf), ("input", "{oops")])
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("input is not valid JSON")
    );

    // A read-only key looks but cannot change anything.
    let reader = Token::generate();
    app.store
        .create_api_key(app.tenant, None, None, true, reader.hash())
        .await
        .unwrap();
    let reading = sign_in(&app, reader.expose()).await;
    let page_text = reading.get(&page).await.text().await.unwrap();
    assert!(
        !page_text.contains("/execute\""),
        "no execute form for a read-only key"
    );
    let csrf = reading
        .csrf(&format!("/ui/p/{}/executions", app.project))
        .await;
    let refused = reading.post(&execute, &[("csrf", &csrf)]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn other_projects_revoked_keys_and_signed_out_sessions_see_nothing() {
    let app = TestApp::spawn().await;
    let token = Token::generate();
    let key = app
        .store
        .create_api_key(app.tenant, Some(app.project), None, false, token.hash())
        .await
        .unwrap();
    let session = sign_in(&app, token.expose()).await;
    let mine = session.get(&format!("/ui/p/{}/actions", app.project)).await;
    assert_eq!(mine.status(), StatusCode::OK);
    let other = actuate_shared::domain::ids::ProjectId::new();
    let theirs = session.get(&format!("/ui/p/{other}/actions")).await;
    assert_eq!(theirs.status(), StatusCode::FORBIDDEN);

    // Revoking the key ends its sessions at once.
    assert!(app.store.revoke_api_key(key.key_id).await.unwrap());
    let after = session.get(&format!("/ui/p/{}/actions", app.project)).await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);

    // Signing out ends the session even though the browser kept the cookie.
    let session = sign_in(&app, &app.token).await;
    let csrf = session
        .csrf(&format!("/ui/p/{}/executions", app.project))
        .await;
    let out = session.post("/ui/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(
        out.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = session.get(&format!("/ui/p/{}/actions", app.project)).await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn stored_text_is_escaped_and_pages_stay_small() {
    let app = TestApp::spawn().await;
    let action_id = action(&app, "<script>alert('x')</script>").await;
    app.executed(&action_id).await;
    let session = sign_in(&app, &app.token).await;
    // The chart counts it (one bar, Queued: no worker runs here), on either backend.
    let chart = session
        .get(&format!(
            "/ui/p/{}/executions/chart?range=hour",
            app.project
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        chart.contains("1 execution started in the last hour"),
        "{chart}"
    );
    assert_eq!(chart.matches("<rect").count(), 1, "{chart}");
    let day = session
        .get(&format!("/ui/p/{}/executions/chart?range=day", app.project))
        .await
        .text()
        .await
        .unwrap();
    assert!(day.contains("1 execution started in the last day"), "{day}");
    for path in [
        format!("/ui/p/{}/actions", app.project),
        format!("/ui/p/{}/actions/{action_id}", app.project),
        format!("/ui/p/{}/executions", app.project),
    ] {
        let response = session.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let page = response.text().await.unwrap();
        assert!(
            !page.contains("<script>alert"),
            "{path} shows markup unescaped"
        );
        assert!(page.contains("&lt;script&gt;"), "{path}");
        assert!(
            page.len() < 200 * 1024,
            "{path} weighs {} bytes",
            page.len()
        );
    }
    let css = session.get("/ui/static/app.css").await;
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}
