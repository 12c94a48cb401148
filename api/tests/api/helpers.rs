//! `TestApp`: the real API on port 0 against its own fresh database, with one method per
//! endpoint. The backend is `ACTUATE_TEST_BACKEND` (PostgreSQL by default, or a SQLite file):
//! every test runs against both (`scripts/test.sh`). PostgreSQL must be running for the
//! former (see `scripts/setup.sh`); a test fails loudly when it is not.

use actuate_api::cors::CorsOrigins;
use actuate_api::rate_limit::ExecuteRateLimit;
use actuate_api::settings::ApiSettings;
use actuate_api::startup::Application;
use actuate_shared::crypto::Keyring;
use actuate_shared::domain::auth::Token;
use actuate_shared::domain::ids::{ProjectId, TenantId};
use actuate_shared::queue::QueueSettings;
use actuate_shared::settings::DatabaseSettings;
use actuate_shared::storage::{DynStore, TestStore, open_test_store};
use actuate_shared::telemetry::LogFormat;
use actuate_tests::{broker, db};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use std::sync::Arc;

pub const TENANT: &str = "12345678-1234-1234-1234-123456789012";
pub const PROJECT: &str = "87654321-4321-4321-4321-210987654321";

pub struct TestApp {
    stop: tokio_util::sync::CancellationToken,
    pub address: String,
    pub queue: QueueSettings,
    pub database_url: String,
    pub store: Arc<dyn TestStore>,
    pub client: reqwest::Client,
    pub tenant: TenantId,
    pub project: ProjectId,
    /// A key of `tenant`, valid for every project.
    pub token: String,
    /// The API's `ACTUATE_SECRETS_KEY` (unless started without one).
    pub secrets_key: String,
}

impl TestApp {
    /// The API without its scheduler (tests that fire schedules call the store themselves,
    /// or use [`TestApp::spawn_with_scheduler`]).
    pub async fn spawn() -> Self {
        Self::start(broker::test_queue_settings(), |_| {}).await
    }

    pub async fn spawn_with_scheduler() -> Self {
        Self::start(broker::test_queue_settings(), |s| {
            s.scheduler.enabled = true
        })
        .await
    }

    /// With the per-tenant execute rate limit on.
    pub async fn spawn_with_execute_rate_limit(limit: ExecuteRateLimit) -> Self {
        Self::start(broker::test_queue_settings(), |s| {
            s.execute_rate_limit = Some(limit)
        })
        .await
    }

    /// With given queue settings: another broker URL (a proxy), or a prefix shared with a
    /// worker.
    pub async fn spawn_with_queue(queue: QueueSettings) -> Self {
        Self::start(queue, |_| {}).await
    }

    /// With `ACTUATE_CORS_ORIGINS` set.
    pub async fn spawn_with_cors(origins: CorsOrigins) -> Self {
        Self::start(broker::test_queue_settings(), |s| s.cors = origins).await
    }

    /// Without `ACTUATE_SECRETS_KEY`: secrets are off.
    pub async fn spawn_without_secrets() -> Self {
        Self::start(broker::test_queue_settings(), |s| s.secrets = None).await
    }

    /// The API with the test's settings, changed by `adjust`.
    async fn start(queue: QueueSettings, adjust: impl FnOnce(&mut ApiSettings)) -> Self {
        let database_url = db::fresh_store_url().await;
        let secrets_key = Keyring::generate_key();
        let mut settings = ApiSettings {
            queue: queue.clone(),
            database: DatabaseSettings {
                url: database_url.clone(),
                max_connections: 4,
                acquire_timeout: std::time::Duration::from_secs(5),
            },
            bind: "127.0.0.1:0".parse().unwrap(),
            auto_migrate: true,
            log_format: LogFormat::Text,
            scheduler: actuate_api::scheduler::SchedulerSettings {
                enabled: false,
                tick: std::time::Duration::from_millis(200),
                grace: std::time::Duration::from_secs(60),
            },
            execute_rate_limit: None,
            cors: CorsOrigins::Off,
            secrets: Some(Keyring::parse(&secrets_key, None).unwrap()),
        };
        adjust(&mut settings);
        // The test and the API share one store: on SQLite, one writer for the file.
        let store = open_test_store(&database_url).unwrap();
        store.migrate().await.expect("migrate");
        let app = Application::with_store(settings, store.clone() as DynStore)
            .await
            .expect("build app");
        let address = format!("http://127.0.0.1:{}", app.port());
        let stop = app.stop_token();
        tokio::spawn(app.run_until_stopped());
        let tenant: TenantId = TENANT.parse().unwrap();
        let project: ProjectId = PROJECT.parse().unwrap();
        let mut app = TestApp {
            stop,
            address,
            queue,
            database_url,
            store,
            client: reqwest::Client::new(),
            tenant,
            project,
            token: String::new(),
            secrets_key,
        };
        app.token = app.new_key(tenant, None).await;
        app
    }

    /// Creates a key directly in storage and returns its token.
    pub async fn new_key(&self, tenant: TenantId, project: Option<ProjectId>) -> String {
        let token = Token::generate();
        self.store
            .create_api_key(tenant, project, Some("test".into()), false, token.hash())
            .await
            .expect("create key");
        token.expose().to_string()
    }

    pub fn base(&self) -> String {
        format!("{}/api/{}/{}", self.address, self.tenant, self.project)
    }

    /// A request to `{base}{path}` with the default token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base()))
            .bearer_auth(&self.token)
    }

    pub async fn openapi(&self) -> Response {
        self.client
            .get(format!("{}/openapi.json", self.address))
            .send()
            .await
            .unwrap()
    }

    pub async fn list_actions(&self) -> Response {
        self.request(Method::GET, "/action").send().await.unwrap()
    }

    pub async fn get_action(&self, id: &str) -> Response {
        self.request(Method::GET, &format!("/action/{id}"))
            .send()
            .await
            .unwrap()
    }

    pub async fn create_action(&self, body: &Value) -> Response {
        self.request(Method::POST, "/action")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn update_action(&self, id: &str, body: &Value) -> Response {
        self.request(Method::PUT, &format!("/action/{id}"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete_action(&self, id: &str) -> Response {
        self.request(Method::DELETE, &format!("/action/{id}"))
            .send()
            .await
            .unwrap()
    }

    pub async fn enable_action(&self, id: &str) -> Response {
        self.request(Method::POST, &format!("/action/{id}/enable"))
            .send()
            .await
            .unwrap()
    }

    pub async fn disable_action(&self, id: &str) -> Response {
        self.request(Method::POST, &format!("/action/{id}/disable"))
            .send()
            .await
            .unwrap()
    }

    pub async fn execute(&self, action_id: &str) -> Response {
        self.request(Method::GET, &format!("/action/execute/{action_id}"))
            .send()
            .await
            .unwrap()
    }

    pub async fn execute_post(
        &self,
        action_id: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Response {
        let mut request = self.request(Method::POST, &format!("/action/execute/{action_id}"));
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send().await.unwrap()
    }

    pub async fn raise_event(
        &self,
        name: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Response {
        let mut request = self.request(Method::POST, &format!("/action/event/{name}"));
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send().await.unwrap()
    }

    pub async fn get_execution(&self, execution_id: &str) -> Response {
        self.request(Method::GET, &format!("/actionexecution/{execution_id}"))
            .send()
            .await
            .unwrap()
    }

    pub async fn list_executions(&self, action_id: &str, query: &str) -> Response {
        self.request(
            Method::GET,
            &format!("/actionexecution/action/{action_id}{query}"),
        )
        .send()
        .await
        .unwrap()
    }

    pub async fn last_execution(&self, action_id: &str) -> Response {
        self.request(
            Method::GET,
            &format!("/actionexecution/lastaction/{action_id}"),
        )
        .send()
        .await
        .unwrap()
    }

    pub async fn download_package(&self, execution_id: &str) -> Response {
        self.request(
            Method::GET,
            &format!("/actionexecution/downloadpackage/{execution_id}"),
        )
        .send()
        .await
        .unwrap()
    }

    pub async fn cancel_execution(&self, execution_id: &str) -> Response {
        self.request(
            Method::POST,
            &format!("/actionexecution/{execution_id}/cancel"),
        )
        .send()
        .await
        .unwrap()
    }

    /// Executes an action that must succeed and returns the execution's JSON.
    pub async fn executed(&self, action_id: &str) -> Value {
        expect_json(self.execute(action_id).await, 200).await
    }

    pub async fn put_secret(&self, name: &str, body: &Value) -> Response {
        self.request(Method::PUT, &format!("/secret/{name}"))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn list_secrets(&self) -> Response {
        self.request(Method::GET, "/secret")
            .send()
            .await
            .expect("request")
    }

    pub async fn delete_secret(&self, name: &str) -> Response {
        self.request(Method::DELETE, &format!("/secret/{name}"))
            .send()
            .await
            .expect("request")
    }

    pub async fn webhook_secret(&self) -> Response {
        self.request(Method::GET, "/webhooksecret")
            .send()
            .await
            .expect("request")
    }

    pub async fn rotate_webhook_secret(&self) -> Response {
        self.request(Method::POST, "/webhooksecret/rotate")
            .send()
            .await
            .expect("request")
    }

    pub async fn ping(&self, resource: &str) -> Response {
        self.request(Method::GET, &format!("/{resource}/ping"))
            .send()
            .await
            .unwrap()
    }

    pub async fn unauthorized_ping(&self, resource: &str) -> Response {
        self.client
            .get(format!("{}/{resource}/unauthorized-ping", self.base()))
            .send()
            .await
            .unwrap()
    }

    /// Creates an action that must succeed and returns its JSON.
    pub async fn created(&self, body: &Value) -> Value {
        let response = self.create_action(body).await;
        assert_eq!(response.status(), 201, "create failed");
        response.json().await.unwrap()
    }
}

/// Stops the app and removes its queues and database, even when the test failed.
impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
        actuate_tests::clean_up(Some(self.queue.clone()), self.database_url.clone());
    }
}

/// A valid create body with one Python step and one daily trigger.
pub fn action_body(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Generate weekly analysis report",
        "isEnabled": true,
        "maxRunTime": 1800,
        "steps": [
            {"stepNumber": 1, "stepType": "Python", "description": "Generate report",
             "settings": "{\"script\": \"generate_report.py\"}"},
            {"stepNumber": 2, "stepType": "Email", "description": "Send report via email",
             "settings": "{\"recipients\": [\"team@company.com\"]}"}
        ],
        "triggers": [{"triggerType": "WeeklyScheduler", "frequency": 1, "startDate": "2024-01-08"}]
    })
}

/// Asserts the status and a JSON body, and returns the body.
pub async fn expect_json(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "body: {text}");
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type}: {text}"
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts a 4xx with `{"error": "..."}` containing `needle`.
pub async fn expect_error(response: Response, status: u16, needle: &str) -> Value {
    let body = expect_json(response, status).await;
    let message = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field: {body}"));
    assert!(
        message.contains(needle),
        "error {message:?} does not contain {needle:?}"
    );
    body
}
