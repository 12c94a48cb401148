//! Standalone mode's workloads: the real `actuate standalone` binary (API, relay, scheduler and
//! worker with its Python runners in one process, on one SQLite file), found beside this
//! binary, each run on a fresh file in a temp dir. The same trivial action and the same
//! clients as the distributed workloads: throughput of N executions from C clients, first
//! request to last Completed (with the CPU time the process and its runners spent on it), and
//! latencies at a fixed 100 executions/s. Progress and timestamps are read from the SQLite file
//! itself, read-only, as the distributed workloads read PostgreSQL.

use crate::{Args, TRIVIAL, cpu, median, paced, percentiles, python_step, quantiles};
use actuate_tests::procs::{self, SIGTERM};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long start-up (up to the greeting) and shutdown (after SIGTERM) may take.
const PATIENCE: Duration = Duration::from_secs(30);

/// The whole workload: throughput (repeated, each on a fresh file), then latency.
pub(crate) async fn run(args: &Args) -> Value {
    let (mut rates, mut cpu_runs) = (Vec::new(), Vec::new());
    for _ in 0..args.repetitions {
        let (rate, cpu) = throughput(args).await;
        rates.push(rate);
        cpu_runs.extend(cpu);
    }
    let totals: Vec<f64> = cpu_runs
        .iter()
        .filter_map(|c| c["total"].as_f64())
        .collect();
    eprintln!("throughput standalone: {rates:?}; CPU ms per execution: {totals:?}");
    let cpu_median = (!totals.is_empty()).then(|| median(totals.clone()));
    json!({
        "concurrency": args.concurrency,
        "throughput": {
            "runs": rates,
            "median_per_second": median(rates.clone()),
            "cpu_ms_per_execution": {
                "runs": totals,
                "median": cpu_median,
                // The process alone, its runners, the harness; medians over the repetitions.
                "by_group": cpu::medians(&cpu_runs),
            },
        },
        "latency": latency(args).await,
    })
}

/// Executions per second, first request to last Completed, and the CPU time (ms) per execution
/// over the same span of the process, of its runners (with those that exited) and, apart,
/// of this harness.
async fn throughput(args: &Args) -> (f64, Option<Value>) {
    let mut s = Standalone::start("standalone-tp", args.concurrency).await;
    let action = s.api.create_action(json!([python_step(TRIVIAL)])).await;
    let cpu_before = cpu_groups(s.pid);
    let t = Instant::now();
    submit(&s.api, &action, args.executions, args.clients).await;
    let submitted = t.elapsed().as_secs_f64();
    let backlog = s.status_counts().await;
    s.wait_finished(args.executions as i64, Duration::from_secs(1800))
        .await;
    let rate = args.executions as f64 / t.elapsed().as_secs_f64();
    let cpu = cpu_before
        .zip(cpu_groups(s.pid))
        .map(|(before, after)| cpu::per_execution(&before, &after, args.executions));
    eprintln!(
        "  standalone: {rate:.0}/s; all submitted after {submitted:.1} s ({:.0}/s), then \
         {backlog:?}; CPU ms per execution: {}",
        args.executions as f64 / submitted,
        cpu.as_ref().map_or("?".into(), cpu::describe),
    );
    s.stop().await;
    (rate, cpu)
}

/// CPU time (ms) so far of the standalone process alone, of its runners and of this harness.
fn cpu_groups(pid: u32) -> Option<Vec<(&'static str, f64)>> {
    let s = cpu::Snapshot::take()?;
    Some(vec![
        ("process", s.own_ms(pid)),
        ("runners", s.tree_ms(pid) - s.own_ms(pid)),
        (cpu::CLIENT, s.own_ms(std::process::id())),
    ])
}

/// Latencies at a fixed rate of 100 executions per second, as the distributed workload 2.
async fn latency(args: &Args) -> Value {
    let mut s = Standalone::start("standalone-latency", 32).await;
    let action = s.api.create_action(json!([python_step(TRIVIAL)])).await;
    let seconds = if args.quick { 2 } else { 20 };
    let total = 100 * seconds;
    let (execute, get) = paced(total, || {
        let (api, action) = (s.api.clone(), action.clone());
        async move {
            let t = Instant::now();
            let id = api.execute(&action).await;
            let execute_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            api.execution(&id).await;
            (execute_ms, t.elapsed().as_secs_f64() * 1e3)
        }
    })
    .await;
    s.wait_finished(total as i64, Duration::from_secs(120))
        .await;
    type Row = (DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let rows: Vec<Row> =
        sqlx::query_as("SELECT date_started, date_running, date_ended FROM executions")
            .fetch_all(&s.db)
            .await
            .expect("read the executions' timestamps");
    let ms = |from: DateTime<Utc>, to: Option<DateTime<Utc>>| {
        to.map(|to| (to - from).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e3)
    };
    let to_running: Vec<f64> = rows.iter().filter_map(|r| ms(r.0, r.1)).collect();
    let to_completed: Vec<f64> = rows.iter().filter_map(|r| ms(r.0, r.2)).collect();
    s.stop().await;
    json!({
        "rate_per_second": 100,
        "executions": total,
        "queued_to_running_ms": percentiles(to_running.clone()),
        "queued_to_completed_ms": percentiles(to_completed.clone()),
        "queued_to_running_quantiles_ms": quantiles(to_running),
        "queued_to_completed_quantiles_ms": quantiles(to_completed),
        "http_execute_ms": percentiles(execute),
        "http_get_execution_ms": percentiles(get),
    })
}

/// Submits `n` executes from `clients` concurrent clients; returns the HTTP latencies (ms).
async fn submit(api: &Api, action_id: &str, n: usize, clients: usize) -> Vec<f64> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (api, next, action_id) = (api.clone(), next.clone(), action_id.to_string());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let t = Instant::now();
                api.execute(&action_id).await;
                latencies.push(t.elapsed().as_secs_f64() * 1e3);
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

/// The project the first start created, over HTTP.
#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    /// `http://<address>/api/<tenant>/<project>`, as printed.
    base: String,
    token: String,
}

impl Api {
    async fn create_action(&self, steps: Value) -> String {
        let response = self
            .client
            .post(format!("{}/action", self.base))
            .bearer_auth(&self.token)
            .json(&json!({
                "name": format!("bench {}", uuid::Uuid::new_v4()),
                "maxRunTime": 3600,
                "steps": steps,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let action: Value = response.json().await.unwrap();
        action["actionId"].as_str().unwrap().to_string()
    }

    /// Executes; returns the execution id.
    async fn execute(&self, action_id: &str) -> String {
        let response = self
            .client
            .get(format!("{}/action/execute/{action_id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let execution: Value = response.json().await.unwrap();
        assert_eq!(execution["status"], "Queued");
        execution["actionExecutionId"].as_str().unwrap().to_string()
    }

    async fn execution(&self, execution_id: &str) -> Value {
        self.client
            .get(format!("{}/actionexecution/{execution_id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// A running `actuate standalone` on a fresh data file; stderr goes to a log file under the
/// system temp dir, the data directory is removed when this is dropped.
struct Standalone {
    child: Child,
    pid: u32,
    dir: PathBuf,
    log: PathBuf,
    api: Api,
    /// The data file, read-only.
    db: SqlitePool,
}

impl Standalone {
    /// Starts it with `concurrency` execution slots and waits for the first start's greeting
    /// (tenant, project, base URL, token), printed once the runners are warm.
    async fn start(label: &str, concurrency: usize) -> Self {
        let exe = std::env::current_exe().expect("current exe");
        let binary = exe.parent().expect("exe dir").join("actuate");
        assert!(
            binary.is_file(),
            "{} is missing: build it beside {} first (cargo build --release -p actuate)",
            binary.display(),
            exe.display()
        );
        let dir = std::env::temp_dir().join(format!(
            "actuate-bench-{label}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("make the data directory");
        let data = dir.join("actuate.db");
        let log = std::env::temp_dir().join(format!("actuate-bench-{label}.log"));
        let mut child = Command::new(&binary)
            .arg("standalone")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env("ACTUATE_DATA", &data)
            .env("ACTUATE_BIND", format!("127.0.0.1:{}", free_port()))
            .env("ACTUATE_WORKER_CONCURRENCY", concurrency.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", binary.display()));
        let pid = child.id().expect("running");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (mut lines, mut base, mut token) = (Vec::<String>::new(), None, None);
        while token.is_none() {
            let line = tokio::time::timeout(PATIENCE, stdout.next_line())
                .await
                .ok()
                .and_then(Result::ok)
                .flatten()
                .unwrap_or_else(|| {
                    panic!(
                        "actuate standalone printed no greeting within {PATIENCE:?} (stdout so \
                         far: {lines:?}); see {}",
                        log.display()
                    )
                });
            if let Some(b) = line.strip_prefix("Base URL: ") {
                base = Some(b.trim().to_string());
            } else if lines.last().is_some_and(|l| l.starts_with("API key")) {
                token = Some(line.trim().to_string());
            }
            lines.push(line);
        }
        let base = base.unwrap_or_else(|| panic!("no base URL in {lines:?}"));
        // Nothing more is expected on stdout; drained so the process never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
        let db = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(SqliteConnectOptions::new().filename(&data).read_only(true))
            .await
            .unwrap_or_else(|e| panic!("open {} read-only: {e}", data.display()));
        let s = Self {
            child,
            pid,
            dir,
            log,
            api: Api {
                client: reqwest::Client::new(),
                base,
                token: token.expect("token"),
            },
            db,
        };
        // As the distributed workloads let their processes settle after start-up.
        tokio::time::sleep(Duration::from_secs(1)).await;
        s
    }

    /// Counts executions by status, straight from the file.
    async fn status_counts(&self) -> BTreeMap<String, i64> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, count(*) FROM executions GROUP BY status")
                .fetch_all(&self.db)
                .await
                .expect("count executions");
        rows.into_iter().collect()
    }

    /// Waits until `n` executions have completed; panics if any failed.
    async fn wait_finished(&self, n: i64, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let counts = self.status_counts().await;
            let failed = counts.get("Failed").copied().unwrap_or(0);
            assert_eq!(
                failed,
                0,
                "executions failed: {counts:?}; see {}",
                self.log.display()
            );
            if counts.get("Completed").copied().unwrap_or(0) >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not finished in time: {counts:?}"
            );
            // As in the distributed workloads: a count every 200 ms.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// SIGTERM, and SIGKILL when it has not exited within [`PATIENCE`].
    async fn stop(&mut self) {
        self.db.close().await;
        procs::signal(&self.child, SIGTERM);
        match tokio::time::timeout(PATIENCE, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(status) => eprintln!(
                "actuate standalone exited with {status:?}; see {}",
                self.log.display()
            ),
            Err(_) => {
                eprintln!(
                    "actuate standalone still running {PATIENCE:?} after SIGTERM: killed; see {}",
                    self.log.display()
                );
                let _ = self.child.kill().await;
            }
        }
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        // The process, if still running, is killed as the child is dropped, right after.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
