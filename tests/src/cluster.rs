//! A small Actuate deployment of real processes on loopback: API and worker binaries sharing
//! one fresh database and one queue prefix, a webhook sink, and an API key.

use crate::procs::{self, SIGKILL, SIGTERM};
use crate::proxy::ToggleProxy;
use crate::sink::Sink;
use crate::{broker, db};
use actuate_shared::domain::auth::Token;
use actuate_shared::domain::ids::{ProjectId, TenantId};
use actuate_shared::queue::QueueSettings;
use actuate_shared::storage::{KeyStore, PgStore};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::process::Child;

pub struct Cluster {
    pub database_url: String,
    pub queue: QueueSettings,
    /// AMQP URL the processes use (the broker, or a proxy in front of it).
    pub amqp_url: String,
    pub store: PgStore,
    pub sink: Sink,
    pub token: String,
    pub tenant: TenantId,
    pub project: ProjectId,
    pub apis: Vec<(Child, String)>,
    pub workers: Vec<Option<Child>>,
    pub client: reqwest::Client,
    name: String,
    /// Extra settings for every worker this cluster starts.
    pub worker_env: Vec<(&'static str, String)>,
    /// Between the processes and PostgreSQL, when [`Cluster::proxy_database`] put it there.
    pub database_proxy: Option<ToggleProxy>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    pub async fn new(name: &str) -> Self {
        let database_url = db::fresh_database().await;
        let store = PgStore::connect_lazy(&database_url, 4).unwrap();
        store.migrate().await.unwrap();
        let tenant = TenantId::new();
        let token = Token::generate();
        store
            .create_api_key(tenant, None, Some("e2e".into()), false, token.hash())
            .await
            .unwrap();
        let queue = broker::test_queue_settings();
        Self {
            amqp_url: queue.url.clone(),
            database_url,
            queue,
            store,
            sink: Sink::start().await,
            token: token.expose().to_string(),
            tenant,
            project: ProjectId::new(),
            apis: Vec::new(),
            workers: Vec::new(),
            client: reqwest::Client::new(),
            name: name.to_string(),
            worker_env: Vec::new(),
            database_proxy: None,
        }
    }

    /// Routes the processes started from now on to PostgreSQL through a proxy this test can
    /// switch off: a database outage for them alone (the test's own store stays connected).
    pub async fn proxy_database(&mut self) -> &ToggleProxy {
        let url = reqwest::Url::parse(&self.database_url).expect("database URL");
        let host = url.host_str().expect("database host");
        let upstream = tokio::net::lookup_host((host, url.port().unwrap_or(5432)))
            .await
            .expect("database address")
            .next()
            .expect("database address");
        self.database_proxy
            .insert(ToggleProxy::start(upstream).await)
    }

    /// The database URL the processes use.
    fn process_database_url(&self) -> String {
        match &self.database_proxy {
            None => self.database_url.clone(),
            Some(proxy) => {
                let mut url = reqwest::Url::parse(&self.database_url).expect("database URL");
                url.set_host(Some(&proxy.addr.ip().to_string()))
                    .expect("proxy host");
                url.set_port(Some(proxy.addr.port())).expect("proxy port");
                url.to_string()
            }
        }
    }

    fn common_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL", self.process_database_url()),
            ("AMQP_URL", self.amqp_url.clone()),
            ("ACTUATE_QUEUE_PREFIX", self.queue.prefix.clone()),
            ("ACTUATE_DB_MAX_CONNECTIONS", "8".into()),
        ]
    }

    /// Starts an API process and waits until it answers.
    pub async fn start_api(&mut self) -> String {
        self.start_api_with(&[]).await
    }

    pub async fn start_api_with(&mut self, extra: &[(&'static str, &str)]) -> String {
        let port = free_port();
        let mut env = self.common_env();
        for (k, v) in extra {
            env.push((k, v.to_string()));
        }
        env.push(("ACTUATE_BIND", format!("127.0.0.1:{port}")));
        let log = format!("{}-api{}", self.name, self.apis.len());
        let child = procs::spawn("actuate-api", &["serve"], &env, &log);
        let address = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if let Ok(r) = self.client.get(format!("{address}/healthz")).send().await
                && r.status() == 200
            {
                self.apis.push((child, address.clone()));
                return address;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the API did not start; see {}",
            std::env::temp_dir()
                .join(format!("actuate-test-{log}.log"))
                .display()
        );
    }

    /// Starts a worker process named `worker-<index>` with extra settings.
    pub fn start_worker(&mut self, extra: &[(&'static str, &str)]) -> usize {
        self.start_worker_as(None, extra)
    }

    /// As [`Cluster::start_worker`], as the user `(uid, gid)` when given.
    pub fn start_worker_as(
        &mut self,
        user: Option<(u32, u32)>,
        extra: &[(&'static str, &str)],
    ) -> usize {
        let index = self.workers.len();
        let mut env = self.common_env();
        env.push(("ACTUATE_WORKER_BIND", "127.0.0.1:0".into()));
        env.push(("ACTUATE_WORKER_ID", format!("worker-{index}")));
        env.push(("ACTUATE_WEBHOOK_ALLOW", "127.0.0.1/32".into()));
        env.extend(self.worker_env.iter().cloned());
        for (k, v) in extra {
            env.push((k, v.to_string()));
        }
        let log = format!("{}-worker{index}", self.name);
        self.workers.push(Some(procs::spawn_as(
            user,
            "actuate-worker",
            &[],
            &env,
            &log,
        )));
        index
    }

    /// The process id of worker `index`.
    pub fn worker_pid(&self, index: usize) -> u32 {
        self.workers[index]
            .as_ref()
            .and_then(Child::id)
            .expect("worker running")
    }

    /// Restarts worker `index` (after it was killed) under the same name.
    pub fn restart_worker(&mut self, index: usize, extra: &[(&'static str, &str)]) {
        let mut env = self.common_env();
        env.push(("ACTUATE_WORKER_BIND", "127.0.0.1:0".into()));
        env.push(("ACTUATE_WORKER_ID", format!("worker-{index}-restarted")));
        env.push(("ACTUATE_WEBHOOK_ALLOW", "127.0.0.1/32".into()));
        for (k, v) in extra {
            env.push((k, v.to_string()));
        }
        let log = format!("{}-worker{index}-restarted", self.name);
        self.workers[index] = Some(procs::spawn("actuate-worker", &[], &env, &log));
    }

    /// Starts an `actuate-api scheduler` process.
    pub fn start_scheduler(&mut self, name: &str) -> Child {
        let mut env = self.common_env();
        env.push(("ACTUATE_SCHEDULER_TICK_MS", "200".into()));
        procs::spawn(
            "actuate-api",
            &["scheduler"],
            &env,
            &format!("{}-{name}", self.name),
        )
    }

    pub async fn kill_worker(&mut self, index: usize) {
        let mut child = self.workers[index].take().expect("worker running");
        procs::signal(&child, SIGKILL);
        let _ = child.wait().await;
    }

    /// SIGTERM; returns the exit status once the worker stopped (at most `within`).
    pub async fn stop_worker(
        &mut self,
        index: usize,
        within: Duration,
    ) -> std::process::ExitStatus {
        let mut child = self.workers[index].take().expect("worker running");
        procs::signal(&child, SIGTERM);
        tokio::time::timeout(within, child.wait())
            .await
            .expect("worker stopped in time")
            .unwrap()
    }

    pub fn base(&self, api: usize) -> String {
        format!("{}/api/{}/{}", self.apis[api].1, self.tenant, self.project)
    }

    /// Creates an action through API 0 and returns its id.
    pub async fn create_action(&self, steps: Value, max_run_time: i64) -> String {
        self.post_action(json!({
            "name": format!("e2e {}", uuid::Uuid::new_v4()),
            "maxRunTime": max_run_time,
            "steps": steps,
        }))
        .await
    }

    /// Creates an action from `body` (the body of `POST /action`) through API 0.
    pub async fn post_action(&self, body: Value) -> String {
        let response = self
            .client
            .post(format!("{}/action", self.base(0)))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let action: Value = response.json().await.unwrap();
        action["actionId"].as_str().unwrap().to_string()
    }

    pub fn webhook_step(&self, path: &str) -> Value {
        json!({"stepType": "Webhook", "settings": {"url": self.sink.url(path)}})
    }

    pub async fn disable_action(&self, action_id: &str) {
        let response = self
            .client
            .post(format!("{}/action/{action_id}/disable", self.base(0)))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    /// Creates an action with these triggers and one webhook step.
    pub async fn create_scheduled_action(&self, triggers: Value) -> String {
        self.post_action(json!({
            "name": format!("scheduled {}", uuid::Uuid::new_v4()),
            "steps": [self.webhook_step("/scheduled")],
            "triggers": triggers,
        }))
        .await
    }

    /// Executes through API `api`; returns the execution id.
    pub async fn execute(&self, api: usize, action_id: &str) -> String {
        let response = self
            .client
            .get(format!("{}/action/execute/{action_id}", self.base(api)))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let execution: Value = response.json().await.unwrap();
        assert_eq!(execution["status"], "Queued");
        execution["actionExecutionId"].as_str().unwrap().to_string()
    }

    pub async fn execution(&self, execution_id: &str) -> Value {
        self.client
            .get(format!("{}/actionexecution/{execution_id}", self.base(0)))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until the execution reaches `status`.
    pub async fn wait_status(&self, execution_id: &str, status: &str, within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let execution = self.execution(execution_id).await;
            if execution["status"] == status {
                return execution;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "execution {execution_id} is still {execution}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Counts executions by status, straight from the database.
    pub async fn status_counts(&self) -> std::collections::BTreeMap<String, i64> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, count(*) FROM executions GROUP BY status")
                .fetch_all(self.store.pool())
                .await
                .unwrap();
        rows.into_iter().collect()
    }

    /// The worker that holds the lease of a Running execution.
    pub async fn lease_owner(&self, execution_id: &str) -> Option<String> {
        sqlx::query_scalar("SELECT lease_owner FROM executions WHERE execution_id = $1::uuid")
            .bind(execution_id)
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (child, _) in &mut self.apis {
            let _ = child.start_kill();
        }
        for child in self.workers.iter_mut().flatten() {
            let _ = child.start_kill();
        }
        crate::clean_up(Some(self.queue.clone()), self.database_url.clone());
    }
}
