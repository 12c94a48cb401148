//! `TestWorker`: the worker's core (context, handler, executor, steps) against a fresh
//! database of the backend `ACTUATE_TEST_BACKEND` names (PostgreSQL by default, or a SQLite
//! file; `scripts/test.sh` runs the suite on both), driven directly with message bytes: no
//! broker in between.

use actuate_shared::crypto::Keyring;
use actuate_shared::domain::draft::{ActionDraft, StepDraft};
use actuate_shared::domain::ids::{ActionId, ExecutionId, KeyId, ProjectId, Scope, TenantId};
use actuate_shared::domain::model::{ExecutionDetail, ExecutionStatus, StepType, TriggerKind};
use actuate_shared::domain::retry::RetryPolicy;
use actuate_shared::message::ExecuteMessage;
use actuate_shared::queue::{DynBroker, MemoryBroker, QueueSettings, RabbitBroker};
use actuate_shared::settings::DatabaseSettings;
use actuate_shared::storage::{
    DynStore, ExecuteOutcome, NewExecution, PgStore, TestStore, open_test_store,
};
use actuate_shared::telemetry::LogFormat;
use actuate_tests::db::{self, Backend};
use actuate_worker::context::WorkerContext;
use actuate_worker::handler::{self, Disposition};
use actuate_worker::net_guard::NetGuard;
use actuate_worker::python::PoolConfig;
use actuate_worker::settings::WorkerSettings;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct TestWorker {
    pub ctx: Arc<WorkerContext>,
    pub store: Arc<dyn TestStore>,
    /// The same store when it is PostgreSQL, for tests of PostgreSQL's own behaviour.
    pub pg: Option<PgStore>,
    pub scope: Scope,
    pub database_url: String,
    /// The test's own queues on RabbitMQ, removed at the end ([`Queue::RabbitMq`] only).
    rabbitmq: Option<QueueSettings>,
    stop: CancellationToken,
}

/// The queue implementation a test's worker consumes from.
#[derive(Clone, Copy, Debug)]
pub enum Queue {
    /// The real broker, with queues of the test's own.
    RabbitMq,
    /// The in-process queue of standalone mode.
    InProcess,
}

pub fn settings(database_url: &str, allow: &str) -> WorkerSettings {
    WorkerSettings {
        database: DatabaseSettings {
            url: database_url.to_string(),
            max_connections: 8,
            acquire_timeout: std::time::Duration::from_secs(5),
        },
        queue: QueueSettings {
            url: actuate_tests::broker::amqp_url(),
            prefix: "unused".into(),
        },
        concurrency: 4,
        shutdown_grace: Duration::from_secs(1),
        lease: Duration::from_secs(30),
        db_outage_grace: Duration::from_secs(60),
        max_attempts: 3,
        requeue_stale_after: Duration::from_secs(900),
        retention_days: 30,
        webhook_guard: NetGuard::new(NetGuard::parse_allowlist(allow).unwrap()),
        worker_id: "test-worker".into(),
        bind: "127.0.0.1:0".parse().unwrap(),
        log_format: LogFormat::Text,
        python: PoolConfig::new(env!("CARGO_BIN_EXE_actuate-worker").into()),
        python_scripts: Some(scripts_dir()),
        smtp: None,
        email_max_recipients: 100,
        secrets: Some(test_keyring()),
    }
}

/// The secrets key of every test worker (a test that needs another sets its own).
pub fn test_keyring() -> Keyring {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    Keyring::parse(KEY.get_or_init(Keyring::generate_key), None).unwrap()
}

impl TestWorker {
    /// Webhooks may reach loopback (the test's sink).
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut WorkerSettings)) -> Self {
        Self::start_full(Queue::RabbitMq, adjust).await
    }

    /// A worker whose consumer and relay use `queue`.
    pub async fn start_on(queue: Queue) -> Self {
        Self::start_full(queue, |_| {}).await
    }

    /// On PostgreSQL whatever the suite's backend: for tests of PostgreSQL's own behaviour.
    pub async fn start_postgres() -> Self {
        Self::start_full_on(Backend::Postgres, Queue::RabbitMq, |_| {}).await
    }

    async fn start_full(queue: Queue, adjust: impl FnOnce(&mut WorkerSettings)) -> Self {
        Self::start_full_on(Backend::from_env(), queue, adjust).await
    }

    async fn start_full_on(
        backend: Backend,
        queue: Queue,
        adjust: impl FnOnce(&mut WorkerSettings),
    ) -> Self {
        let database_url = match backend {
            Backend::Postgres => db::fresh_database().await,
            Backend::Sqlite => db::fresh_sqlite_url(),
        };
        // The test and the worker share one store: on SQLite, one writer and one broadcast
        // of cancellations.
        let (store, pg): (Arc<dyn TestStore>, _) = match backend {
            Backend::Postgres => {
                let pg = PgStore::connect_lazy(&database_url, 8).unwrap();
                (Arc::new(pg.clone()), Some(pg))
            }
            Backend::Sqlite => (open_test_store(&database_url).unwrap(), None),
        };
        store.migrate().await.unwrap();
        let mut settings = settings(&database_url, "127.0.0.1/32, ::1");
        adjust(&mut settings);
        let dyn_store: DynStore = store.clone();
        let (broker, rabbitmq): (DynBroker, _) = match queue {
            Queue::RabbitMq => {
                settings.queue = actuate_tests::broker::test_queue_settings();
                (
                    Arc::new(RabbitBroker::new(settings.queue.clone())),
                    Some(settings.queue.clone()),
                )
            }
            Queue::InProcess => (Arc::new(MemoryBroker::new()), None),
        };
        let ctx = WorkerContext::new(dyn_store, broker, settings).unwrap();
        let stop = CancellationToken::new();
        tokio::spawn(actuate_worker::cancel::listen(
            ctx.store.clone(),
            ctx.cancellations.clone(),
            stop.clone(),
        ));
        // Let the listener subscribe before a test cancels anything.
        tokio::time::sleep(Duration::from_millis(100)).await;
        Self {
            ctx,
            store,
            pg,
            scope: Scope {
                tenant_id: TenantId::new(),
                project_id: ProjectId::new(),
            },
            database_url,
            rabbitmq,
            stop,
        }
    }

    /// Creates an action with these steps (`(type, settings)`) and queues one execution.
    pub async fn queue(&self, steps: &[(StepType, Value)], max_run_time: i32) -> ExecuteMessage {
        let action = self.action(steps, max_run_time).await;
        self.execute(action).await
    }

    pub async fn action(&self, steps: &[(StepType, Value)], max_run_time: i32) -> ActionId {
        self.action_in(self.scope, steps, max_run_time).await
    }

    /// An action of another tenant or project (`scope`).
    pub async fn action_in(
        &self,
        scope: Scope,
        steps: &[(StepType, Value)],
        max_run_time: i32,
    ) -> ActionId {
        self.action_retrying(scope, steps, None, max_run_time).await
    }

    /// An action whose every step has the `retry` policy.
    pub async fn action_retrying(
        &self,
        scope: Scope,
        steps: &[(StepType, Value)],
        retry: Option<RetryPolicy>,
        max_run_time: i32,
    ) -> ActionId {
        let draft = ActionDraft {
            name: format!("action {}", uuid::Uuid::new_v4()),
            description: None,
            is_enabled: true,
            max_run_time,
            retention_days: None,
            concurrency: Default::default(),
            steps: steps
                .iter()
                .enumerate()
                .map(|(i, (step_type, settings))| StepDraft {
                    step_id: None,
                    step_number: i as i32 + 1,
                    step_type: *step_type,
                    description: None,
                    settings: settings.to_string(),
                    retry,
                })
                .collect(),
            triggers: vec![],
        };
        self.store
            .create_action(scope, draft, KeyId::new())
            .await
            .unwrap()
            .action_id
    }

    pub async fn execute(&self, action_id: ActionId) -> ExecuteMessage {
        self.execute_with_input(action_id, json!({"customer": "ACME"}))
            .await
    }

    pub async fn execute_with_input(&self, action_id: ActionId, input: Value) -> ExecuteMessage {
        self.execute_in(self.scope, action_id, input).await
    }

    /// Queues an execution of an action of `scope`.
    pub async fn execute_in(
        &self,
        scope: Scope,
        action_id: ActionId,
        input: Value,
    ) -> ExecuteMessage {
        let request = NewExecution {
            trigger: TriggerKind::Manual,
            input: Some(input),
            idempotency_key: None,
            run_at: None,
            rerun_of: None,
            trace_parent: None,
            audit: None,
        };
        let ExecuteOutcome::Created(execution) = self
            .store
            .create_execution(scope, action_id, request)
            .await
            .unwrap()
        else {
            panic!("execute failed")
        };
        // What the relay does: lease the row, publish its message, remove the row. Rows of
        // other executions go back at once, as a relay's failed publish would return them.
        let leased = self
            .store
            .lease_outbox(1000, Duration::from_secs(30))
            .await
            .unwrap();
        let (ours, others): (Vec<_>, Vec<_>) = leased
            .into_iter()
            .partition(|item| item.message.execution_id == execution.action_execution_id);
        let others: Vec<i64> = others.iter().map(|item| item.id).collect();
        self.store
            .fail_outbox(&others, "not this test's message", Duration::ZERO)
            .await
            .unwrap();
        let item = ours
            .into_iter()
            .next()
            .expect("the execute wrote an outbox row");
        self.store.complete_outbox(&[item.id]).await.unwrap();
        item.message
    }

    /// Delivers a message to the handler, as the consumer would.
    pub async fn deliver(&self, body: &[u8]) -> Disposition {
        let permit = self.ctx.slots.clone().acquire_owned().await.unwrap();
        handler::handle(&self.ctx, body, None, permit, &self.stop).await
    }

    /// Delivers `message` and waits until its execution has `status` (at most `within`).
    pub async fn deliver_until(
        &self,
        message: &ExecuteMessage,
        status: ExecutionStatus,
        within: Duration,
    ) -> ExecutionDetail {
        self.deliver(&message.to_bytes()).await;
        self.wait_status(message.execution_id, status, within).await
    }

    /// Delivers `message`, waits until the worker is idle again (at most `within`) and returns
    /// the execution as it ended.
    pub async fn deliver_to_end(
        &self,
        message: &ExecuteMessage,
        within: Duration,
    ) -> ExecutionDetail {
        self.deliver(&message.to_bytes()).await;
        self.idle(within).await;
        let scope = Scope {
            tenant_id: message.tenant_id,
            project_id: message.project_id,
        };
        self.detail_in(scope, message.execution_id).await
    }

    /// Waits until no execution runs in this worker (at most `within`).
    pub async fn idle(&self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while !self.ctx.running.is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "executions still running"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn detail(&self, execution_id: ExecutionId) -> ExecutionDetail {
        self.detail_in(self.scope, execution_id).await
    }

    pub async fn detail_in(&self, scope: Scope, execution_id: ExecutionId) -> ExecutionDetail {
        self.store
            .get_execution(scope, execution_id)
            .await
            .unwrap()
            .expect("execution exists")
    }

    /// Polls until the execution has `status` (at most `within`).
    pub async fn wait_status(
        &self,
        execution_id: ExecutionId,
        status: ExecutionStatus,
        within: Duration,
    ) -> ExecutionDetail {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let detail = self.detail(execution_id).await;
            if detail.execution.status == status {
                return detail;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "execution is {:?}, not {status:?}: {detail:?}",
                detail.execution.status
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn outbox_rows(&self, execution_id: ExecutionId) -> i64 {
        self.store.count_outbox(Some(execution_id)).await.unwrap()
    }
}

impl Drop for TestWorker {
    fn drop(&mut self) {
        self.stop.cancel();
        self.ctx.abandon.cancel();
        actuate_tests::clean_up(self.rabbitmq.take(), self.database_url.clone());
    }
}

/// Two webhook steps to a port nothing listens on: an action for tests that drive the store
/// by hand and never run a step.
pub fn two_unreached_webhooks() -> [(StepType, Value); 2] {
    [
        webhook("http://127.0.0.1:9/a"),
        webhook("http://127.0.0.1:9/b"),
    ]
}

pub fn webhook(url: &str) -> (StepType, Value) {
    (StepType::Webhook, json!({"url": url}))
}

pub fn python(code: &str) -> (StepType, Value) {
    (StepType::Python, json!({"code": code}))
}

/// `worker/tests/worker/scripts`: the scripts directory of the test workers.
pub fn scripts_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/worker/scripts")
}
