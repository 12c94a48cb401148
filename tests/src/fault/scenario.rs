//! The faults. Each scenario gets a fresh database on the private cluster and its own queue
//! names on the private node, two API processes and two workers, a steady load of executes of
//! a two-step action (a trivial Python step, then a webhook to the scenario's sink that answers
//! after 300 ms, carrying the attempt in a header), one fault in the middle of the load, and then a bounded wait for
//! everything acknowledged to end. To add a scenario (standalone SIGKILL, once that mode
//! exists): a variant, its name, its expectation, and its arm in [`inject`].

use super::audit;
use super::load::Load;
use super::pg::PrivatePg;
use super::rabbit::PrivateRabbit;
use super::report::Row;
use crate::cluster::Cluster;
use crate::procs;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The services every scenario shares (one at a time).
pub struct Services {
    pub pg: PrivatePg,
    pub rabbit: PrivateRabbit,
}

#[derive(Clone, Copy, Debug)]
pub struct Pass {
    pub long: bool,
}

impl Pass {
    fn rate(self) -> u32 {
        if self.long { 50 } else { 25 }
    }
    fn calm(self) -> Duration {
        Duration::from_secs(if self.long { 10 } else { 2 })
    }
    fn outage(self) -> Duration {
        Duration::from_secs(if self.long { 20 } else { 5 })
    }
    fn kills(self) -> usize {
        if self.long { 30 } else { 4 }
    }
    fn drain_limit(self) -> Duration {
        Duration::from_secs(if self.long { 300 } else { 90 })
    }
}

const LEASE_SECONDS: u64 = 3;

fn worker_env() -> [(&'static str, &'static str); 4] {
    [
        ("ACTUATE_LEASE_SECONDS", "3"),
        ("ACTUATE_WORKER_CONCURRENCY", "8"),
        ("ACTUATE_PYTHON_RUNNERS", "2"),
        ("ACTUATE_SHUTDOWN_GRACE", "5"),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    WorkerKill,
    BrokerStop,
    BrokerFreeze,
    DatabaseRestart,
    DatabaseDown,
    WorkerPause,
    ApiKillWithOutbox,
}

impl Scenario {
    pub const ALL: [Scenario; 7] = [
        Scenario::WorkerKill,
        Scenario::BrokerStop,
        Scenario::BrokerFreeze,
        Scenario::DatabaseRestart,
        Scenario::DatabaseDown,
        Scenario::WorkerPause,
        Scenario::ApiKillWithOutbox,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::WorkerKill => "worker-kill",
            Scenario::BrokerStop => "broker-stop",
            Scenario::BrokerFreeze => "broker-freeze",
            Scenario::DatabaseRestart => "database-restart",
            Scenario::DatabaseDown => "database-down-20s",
            Scenario::WorkerPause => "worker-pause",
            Scenario::ApiKillWithOutbox => "api-kill-with-outbox",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scenario::WorkerKill => "a worker killed with SIGKILL and restarted, repeatedly",
            Scenario::BrokerStop => "the broker stopped, then started again",
            Scenario::BrokerFreeze => "the broker frozen (SIGSTOP), then thawed",
            Scenario::DatabaseRestart => "PostgreSQL stopped as by a crash and started at once",
            Scenario::DatabaseDown => "PostgreSQL down for 20 s (longer than the lease)",
            Scenario::WorkerPause => "a worker paused (SIGSTOP) past its lease, then resumed",
            Scenario::ApiKillWithOutbox => {
                "an API killed with outbox rows pending while the broker is down"
            }
        }
    }

    /// No worker is lost in these, so no step may run twice.
    fn expects_no_rerun(self) -> bool {
        matches!(
            self,
            Scenario::DatabaseDown
                | Scenario::DatabaseRestart
                | Scenario::BrokerStop
                | Scenario::BrokerFreeze
                | Scenario::ApiKillWithOutbox
        )
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

pub async fn run(scenario: Scenario, services: &mut Services, pass: Pass) -> anyhow::Result<Row> {
    let mut cluster = Cluster::new(scenario.name()).await;
    audit::install(cluster.store.pool()).await?;
    cluster.start_api().await;
    cluster.start_api().await;
    for _ in 0..2 {
        cluster.start_worker(&worker_env());
    }
    // A slow receiver (300 ms) keeps several executions in flight when the fault strikes.
    let mut webhook = cluster.webhook_step("/slow/300");
    webhook["settings"]["headers"] = json!({"X-Attempt": "{{ execution.attempt }}"});
    let action_id = cluster
        .create_action(
            json!([{"stepType": "Python", "settings": {"code": "result = 1"}}, webhook]),
            600,
        )
        .await;
    let load = Load::new(vec![cluster.base(0), cluster.base(1)]);
    let stop_load = CancellationToken::new();
    let load_task = tokio::spawn(load.clone().run(
        action_id,
        cluster.token.clone(),
        pass.rate(),
        stop_load.clone(),
    ));
    tokio::time::sleep(pass.calm()).await;
    let mut notes = Vec::new();
    inject(scenario, services, &mut cluster, &load, pass, &mut notes).await?;
    tokio::time::sleep(pass.calm()).await;
    stop_load.cancel();
    load_task.await?;
    let drained_from = Instant::now();

    let acknowledged = load.answers.lock().unwrap().acknowledged.clone();
    let pool = cluster.store.pool().clone();
    let drain = loop {
        let left = audit::unfinished(&pool, &acknowledged)
            .await
            .unwrap_or(u64::MAX);
        if left == 0 || drained_from.elapsed() >= pass.drain_limit() {
            break drained_from.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let findings = audit::check(&pool, &acknowledged).await?;
    let (same, later) = duplicate_deliveries(&cluster);
    let answers = load.answers.lock().unwrap();
    let mut row = Row {
        scenario: scenario.name(),
        acknowledged: acknowledged.len() as u64,
        completed: findings.completed,
        lost: findings.lost,
        stuck: findings.stuck,
        ended_twice: findings.ended_twice,
        stale_writes: findings.stale_writes,
        rerun: findings.rerun,
        duplicate_same_attempt: same,
        duplicate_later_attempt: later,
        during_fault: answers.during_fault.clone(),
        slowest_during_fault: answers.slowest_during_fault,
        errors_outside_fault: answers.errors_outside_fault,
        drain,
        violations: Vec::new(),
        notes,
    };
    judge(scenario, &mut row, &findings.failed_notes);
    Ok(row)
}

fn judge(scenario: Scenario, row: &mut Row, failed_notes: &[String]) {
    let mut violation = |cond: bool, what: String| {
        if cond {
            row.violations.push(what);
        }
    };
    violation(row.acknowledged == 0, "no execute was acknowledged".into());
    violation(
        row.lost > 0,
        format!("{} lost ({failed_notes:?})", row.lost),
    );
    violation(row.stuck > 0, format!("{} stuck", row.stuck));
    violation(
        row.ended_twice > 0,
        format!("{} ended twice", row.ended_twice),
    );
    violation(
        row.stale_writes > 0,
        format!("{} stale writes", row.stale_writes),
    );
    violation(
        row.duplicate_same_attempt > 0,
        format!(
            "{} webhooks repeated within one attempt",
            row.duplicate_same_attempt
        ),
    );
    let server_errors = row.during_fault.get("5xx").copied().unwrap_or(0);
    violation(
        server_errors > 0,
        format!("{server_errors} answers 5xx other than 503"),
    );
    violation(
        row.errors_outside_fault > 0,
        format!(
            "{} failed answers outside the fault",
            row.errors_outside_fault
        ),
    );
    if scenario.expects_no_rerun() {
        violation(
            row.rerun > 0,
            format!("{} re-run with no worker lost", row.rerun),
        );
        violation(
            row.duplicate_later_attempt > 0,
            format!("{} webhooks delivered again", row.duplicate_later_attempt),
        );
    }
}

/// Deliveries per (execution, step): repeated within one attempt, and repeated by a later one.
fn duplicate_deliveries(cluster: &Cluster) -> (u64, u64) {
    let mut by_step: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in cluster.sink.requests() {
        let key = (
            r.header("x-actuate-execution-id").unwrap_or("").to_string(),
            r.header("x-actuate-step").unwrap_or("").to_string(),
        );
        by_step
            .entry(key)
            .or_default()
            .push(r.header("x-attempt").unwrap_or("").to_string());
    }
    let (mut same, mut later) = (0, 0);
    for attempts in by_step.values() {
        let distinct: BTreeSet<_> = attempts.iter().collect();
        same += (attempts.len() - distinct.len()) as u64;
        later += (distinct.len() - 1) as u64;
    }
    (same, later)
}

/// Blocking service control off the async threads.
fn blocking<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    tokio::task::block_in_place(f)
}

async fn inject(
    scenario: Scenario,
    services: &mut Services,
    cluster: &mut Cluster,
    load: &Load,
    pass: Pass,
    notes: &mut Vec<String>,
) -> anyhow::Result<()> {
    load.fault_begins();
    let began = Instant::now();
    match scenario {
        Scenario::WorkerKill => {
            for i in 0..pass.kills() {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                let index = i % 2;
                cluster.kill_worker(index).await;
                cluster.restart_worker(index, &worker_env());
            }
        }
        Scenario::BrokerStop => {
            blocking(|| services.rabbit.stop())?;
            tokio::time::sleep(pass.outage()).await;
            blocking(|| services.rabbit.start_again())?;
        }
        Scenario::BrokerFreeze => {
            services.rabbit.freeze()?;
            tokio::time::sleep(pass.outage()).await;
            services.rabbit.thaw()?;
        }
        Scenario::DatabaseRestart => {
            blocking(|| services.pg.stop_immediate())?;
            blocking(|| services.pg.start_again())?;
        }
        Scenario::DatabaseDown => {
            blocking(|| services.pg.stop_immediate())?;
            // 20 s in both passes: the target is that an outage this long re-runs nothing.
            tokio::time::sleep(Duration::from_secs(20)).await;
            blocking(|| services.pg.start_again())?;
        }
        Scenario::WorkerPause => {
            let pid = cluster.worker_pid(0);
            super::run(std::process::Command::new("kill").args(["-STOP", &pid.to_string()]))?;
            tokio::time::sleep(Duration::from_secs(LEASE_SECONDS * 3)).await;
            super::run(std::process::Command::new("kill").args(["-CONT", &pid.to_string()]))?;
        }
        Scenario::ApiKillWithOutbox => {
            blocking(|| services.rabbit.stop())?;
            tokio::time::sleep(pass.outage()).await;
            let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
                .fetch_one(cluster.store.pool())
                .await?;
            notes.push(format!(
                "{pending} outbox rows pending when API 0 was killed"
            ));
            let (child, _) = &mut cluster.apis[0];
            procs::signal(child, procs::SIGKILL);
            let _ = child.wait().await;
            let killed = cluster.base(0);
            load.bases.lock().unwrap().retain(|b| *b != killed);
            blocking(|| services.rabbit.start_again())?;
            let restarted = cluster.start_api().await;
            let _ = restarted;
            let index = cluster.apis.len() - 1;
            load.bases.lock().unwrap().push(cluster.base(index));
        }
    }
    load.fault_ends();
    notes.push(format!(
        "{}: fault lasted {:.1} s",
        scenario.describe(),
        began.elapsed().as_secs_f64()
    ));
    Ok(())
}
