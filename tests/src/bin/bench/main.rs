//! The benchmark harness: Actuate against Celery and against the machine's own limits, in one
//! run, printed as a markdown table and written as JSON. Measurements, never assertions.
//!
//! ```text
//! cargo build --release --workspace --bins && target/release/bench            # full run
//! target/release/bench --quick                                                # smoke run
//! ```
//! It needs what the tests need (PostgreSQL, RabbitMQ, `scripts/setup.sh`), plus PyPI for the
//! Celery virtualenv it makes (`tests/bench/celery_venv.sh`; `--skip-celery` to do without),
//! and the `actuate` binary beside this one for standalone mode (`--release` builds both).
//!
//! Modules: [`distributed`] (API and worker processes on PostgreSQL and RabbitMQ),
//! [`standalone`] (`actuate standalone` on a SQLite file), [`celery`] (the peer), [`limits`]
//! (the database and broker floors), [`cpu`] (CPU time per process group from /proc),
//! [`table`] (the markdown table), [`charts`] (the SVG charts); this file holds the options,
//! the shared helpers, the machine's description and the order of the run.

mod celery;
mod charts;
mod cpu;
mod distributed;
mod limits;
mod standalone;
mod table;

use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser, Debug, Clone)]
#[command(about = "Actuate benchmark harness")]
struct Args {
    /// A small, fast run (keeps the harness from rotting; numbers are not meaningful).
    #[arg(long)]
    quick: bool,
    /// Executions per throughput run.
    #[arg(long, default_value_t = 10_000)]
    executions: usize,
    /// Concurrent HTTP clients submitting executions.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Repetitions of each measurement; the table shows medians.
    #[arg(long, default_value_t = 3)]
    repetitions: usize,
    /// Worker process counts for the throughput workload.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    workers: Vec<usize>,
    /// Execution slots per worker process in the throughput workload (and of the standalone
    /// process's worker).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[arg(long)]
    skip_celery: bool,
    /// Run only these workloads (throughput, latency, standalone, steps, memory, anchor, celery,
    /// limits).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Where the JSON results go.
    #[arg(long, default_value = "target/bench-results.json")]
    json: String,
    /// Where the SVG charts go (bench-throughput.svg, bench-latency.svg); by default beside
    /// the JSON results (or beside --charts-from).
    #[arg(long)]
    charts_dir: Option<std::path::PathBuf>,
    /// Run nothing: draw the charts of this earlier results JSON.
    #[arg(long)]
    charts_from: Option<String>,
}

impl Args {
    /// --charts-dir, else the directory of the results JSON the charts are drawn from.
    fn charts_dir(&self) -> std::path::PathBuf {
        let json = std::path::Path::new(self.charts_from.as_ref().unwrap_or(&self.json));
        let beside = json.parent().filter(|d| !d.as_os_str().is_empty());
        self.charts_dir
            .clone()
            .unwrap_or_else(|| beside.unwrap_or(std::path::Path::new(".")).to_path_buf())
    }
}

const TRIVIAL: &str = "result = 1";

fn python_step(code: &str) -> Value {
    json!({"stepType": "Python", "settings": {"code": code}})
}

/// Workload 2's load: `total` calls of `run` (one execute and one read of it, answering both
/// latencies in ms), one every 10 ms whatever the answers' pace; all the latencies, in order.
async fn paced<F, Fut>(total: usize, run: F) -> (Vec<f64>, Vec<f64>)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (f64, f64)> + Send + 'static,
{
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(10));
    let mut tasks = Vec::new();
    for _ in 0..total {
        ticker.tick().await;
        tasks.push(tokio::spawn(run()));
    }
    let (mut execute, mut get) = (Vec::new(), Vec::new());
    for t in tasks {
        let (e, g) = t.await.unwrap();
        execute.push(e);
        get.push(g);
    }
    (execute, get)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn percentiles(mut values: Vec<f64>) -> Value {
    if values.is_empty() {
        return Value::Null;
    }
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| values[((values.len() as f64 - 1.0) * q).round() as usize];
    json!({"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": values[values.len() - 1]})
}

/// The distribution for a chart: `[q, value]` at every hundredth and at 0.999, nearest rank.
fn quantiles(mut values: Vec<f64>) -> Value {
    if values.is_empty() {
        return Value::Null;
    }
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| values[((values.len() as f64 - 1.0) * q).round() as usize];
    let mut qs: Vec<f64> = (0..=100).map(|i| i as f64 / 100.0).collect();
    qs.insert(100, 0.999);
    Value::Array(qs.into_iter().map(|q| json!([q, at(q)])).collect())
}

/// pg_test_fsync's fdatasync lines: this machine's flush time drifts over minutes, so it is
/// recorded before and after the run.
fn fsync_rates() -> Option<Vec<String>> {
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|mut d| {
            d.find_map(|e| {
                let p = e.ok()?.path().join("bin/pg_test_fsync");
                p.exists().then_some(p)
            })
        })
        .and_then(|p| {
            std::process::Command::new(p)
                .args(["-s", "1", "-f", "/tmp/actuate-fsync-test"])
                .output()
                .ok()
        })
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| l.contains("fdatasync") && l.contains("ops/sec"))
                .map(|l| l.trim().to_string())
                .collect::<Vec<_>>()
        })
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_string();
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total = mem
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .nth(1)
        .and_then(|k| k.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
        / 1024.0;
    let fsync = fsync_rates();
    json!({
        "cpu": model, "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "memory_gib": (total * 10.0).round() / 10.0,
        "date": chrono::Utc::now().to_rfc3339(),
        "pg_test_fsync": fsync,
    })
}

#[tokio::main]
async fn main() {
    let mut args = Args::parse();
    if let Some(path) = &args.charts_from {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        let report = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"));
        charts::write(&report, &args.charts_dir());
        return;
    }
    if args.quick {
        args.executions = 300;
        args.repetitions = 1;
        args.workers = vec![1];
        args.clients = args.clients.min(8);
    }
    let wants = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    let mut report = serde_json::Map::new();
    report.insert("machine".into(), machine());
    report.insert("settings".into(), json!({"executions": args.executions, "clients": args.clients, "repetitions": args.repetitions, "concurrency": args.concurrency}));

    let mut tp = serde_json::Map::new();
    for &w in args.workers.clone().iter().filter(|_| wants("throughput")) {
        let (mut runs, mut cpu_runs, mut execute_ms) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..args.repetitions {
            let (rate, cpu, latencies) = distributed::throughput(&args, w).await;
            runs.push(rate);
            cpu_runs.extend(cpu);
            execute_ms.extend(latencies);
        }
        eprintln!("throughput with {w} worker(s): {runs:?}");
        tp.insert(
            w.to_string(),
            json!({
                "runs": runs, "median_per_second": median(runs.clone()),
                // Medians of each group over the repetitions; PostgreSQL and RabbitMQ are the
                // machine's servers, measured over the run only, shared with anything else.
                "cpu_ms_per_execution": {"median": cpu::medians(&cpu_runs), "runs": cpu_runs},
                // Every execute request of every repetition, as the clients timed them.
                "execute_ms": percentiles(execute_ms),
            }),
        );
    }
    report.insert("throughput".into(), Value::Object(tp));
    if wants("latency") {
        report.insert("latency".into(), distributed::latency(&args).await);
    }
    if wants("standalone") {
        report.insert("standalone".into(), standalone::run(&args).await);
    }
    if wants("steps") {
        report.insert(
            "step_overhead".into(),
            distributed::step_overhead(&args).await,
        );
    }
    if wants("memory") {
        report.insert("memory".into(), distributed::memory(&args).await);
    }
    if wants("anchor") {
        report.insert("anchor".into(), distributed::anchor(&args).await);
    }

    if !args.skip_celery && wants("celery") {
        let mut peer = serde_json::Map::new();
        for &w in &args.workers.clone() {
            let mut runs = Vec::new();
            for _ in 0..args.repetitions {
                if let Some(r) = celery::celery(&args, w).await {
                    runs.push(r);
                }
            }
            if !runs.is_empty() {
                let rates: Vec<f64> = runs
                    .iter()
                    .filter_map(|r| r["per_second"].as_f64())
                    .collect();
                peer.insert(
                    w.to_string(),
                    json!({"median_per_second": median(rates), "runs": runs}),
                );
            }
        }
        report.insert("celery".into(), Value::Object(peer));
    }
    if wants("limits") {
        let mut dbs = Vec::new();
        let mut brokers = Vec::new();
        for _ in 0..args.repetitions {
            dbs.extend(limits::database_floor(&args).await);
            brokers.push(limits::broker_floor(&args).await);
        }
        eprintln!("database floor: {dbs:?}; broker floor: {brokers:?}");
        let db = (!dbs.is_empty()).then(|| median(dbs));
        let broker = median(brokers);
        report.insert(
            "limits".into(),
            json!({"database_executions_per_second": db, "broker_messages_per_second": broker}),
        );
    }

    report["machine"]["pg_test_fsync_after"] = json!(fsync_rates());
    table::print_table(&report);
    let report = Value::Object(report);
    let text = serde_json::to_string_pretty(&report).unwrap();
    std::fs::write(&args.json, text).expect("write JSON results");
    eprintln!("JSON written to {}", args.json);
    charts::write(&report, &args.charts_dir());
}
