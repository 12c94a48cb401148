//! The benchmark harness: Actuate against Celery and against the machine's own limits, in one
//! run, printed as a markdown table and written as JSON. Measurements, never assertions.
//!
//! ```text
//! cargo build --release --workspace --bins && target/release/bench            # full run
//! target/release/bench --quick                                                # smoke run
//! ```
//! It needs what the tests need (PostgreSQL, RabbitMQ, `scripts/setup.sh`), plus PyPI for the
//! Celery virtualenv it makes (`tests/bench/celery_venv.sh`; `--skip-celery` to do without).

use actuate_tests::cluster::Cluster;
use clap::Parser;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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
    /// Execution slots per worker process in the throughput workload.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[arg(long)]
    skip_celery: bool,
    /// Run only these workloads (throughput, latency, steps, memory, anchor, celery, limits).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Where the JSON results go.
    #[arg(long, default_value = "target/bench-results.json")]
    json: String,
}

const TRIVIAL: &str = "result = 1";

fn python_step(code: &str) -> Value {
    json!({"stepType": "Python", "settings": {"code": code}})
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

/// Submits `n` executes from `clients` concurrent clients; returns the HTTP latencies (ms).
async fn submit(cluster: &Arc<Cluster>, action_id: &str, n: usize, clients: usize) -> Vec<f64> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (cluster, next, action_id) = (cluster.clone(), next.clone(), action_id.to_string());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let t = Instant::now();
                cluster.execute(c % cluster.apis.len(), &action_id).await;
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

/// Waits until `n` executions have finished; panics if any failed.
async fn wait_finished(cluster: &Cluster, n: i64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let counts = cluster.status_counts().await;
        let failed = counts.get("Failed").copied().unwrap_or(0);
        assert_eq!(failed, 0, "executions failed: {counts:?}");
        if counts.get("Completed").copied().unwrap_or(0) >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not finished in time: {counts:?}"
        );
        // Not faster: this count scans the executions table, on the database being measured.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn cluster(name: &str, workers: usize, concurrency: usize) -> Arc<Cluster> {
    let mut c = Cluster::new(name).await;
    c.worker_env
        .push(("ACTUATE_WORKER_CONCURRENCY", concurrency.to_string()));
    c.worker_env.push(("RUST_LOG", "warn".into()));
    c.start_api_with(&[("RUST_LOG", "warn"), ("ACTUATE_SCHEDULER", "false")])
        .await;
    for _ in 0..workers {
        c.start_worker(&[]);
    }
    // Let workers connect and warm their Python runners.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    Arc::new(c)
}

/// Workload 1: executions per second, first request to last Completed.
async fn throughput(args: &Args, workers: usize) -> f64 {
    let c = cluster(&format!("bench-tp{workers}"), workers, args.concurrency).await;
    let action = c.create_action(json!([python_step(TRIVIAL)]), 3600).await;
    let t = Instant::now();
    submit(&c, &action, args.executions, args.clients).await;
    let submitted = t.elapsed().as_secs_f64();
    let backlog = c.status_counts().await;
    wait_finished(&c, args.executions as i64, Duration::from_secs(1800)).await;
    let rate = args.executions as f64 / t.elapsed().as_secs_f64();
    eprintln!(
        "  {workers} worker(s): {rate:.0}/s; all submitted after {submitted:.1} s ({:.0}/s), \
         then {backlog:?}",
        args.executions as f64 / submitted
    );
    rate
}

/// Workload 2: latencies at a fixed rate of 100 executions per second.
async fn latency(args: &Args) -> Value {
    let c = cluster("bench-latency", 2, 32).await;
    let action = c.create_action(json!([python_step(TRIVIAL)]), 3600).await;
    let seconds = if args.quick { 2 } else { 20 };
    let total = 100 * seconds;
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    let mut tasks = Vec::new();
    for _ in 0..total {
        ticker.tick().await;
        let (c, action) = (c.clone(), action.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let id = c.execute(0, &action).await;
            let execute_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            c.execution(&id).await;
            (execute_ms, t.elapsed().as_secs_f64() * 1e3)
        }));
    }
    let (mut execute, mut get) = (Vec::new(), Vec::new());
    for t in tasks {
        let (e, g) = t.await.unwrap();
        execute.push(e);
        get.push(g);
    }
    wait_finished(&c, total as i64, Duration::from_secs(120)).await;
    let rows: Vec<(f64, f64)> = sqlx::query_as(
        "SELECT EXTRACT(EPOCH FROM date_running - date_started)::float8 * 1000, \
           EXTRACT(EPOCH FROM date_ended - date_started)::float8 * 1000 FROM executions",
    )
    .fetch_all(c.store.pool())
    .await
    .unwrap();
    json!({
        "rate_per_second": 100,
        "executions": total,
        "queued_to_running_ms": percentiles(rows.iter().map(|r| r.0).collect()),
        "queued_to_completed_ms": percentiles(rows.iter().map(|r| r.1).collect()),
        "http_execute_ms": percentiles(execute),
        "http_get_execution_ms": percentiles(get),
    })
}

/// Workload 3: a 5-step action run one execution at a time; what each step costs beyond its
/// work (the database write that records it and starts the next, and the dispatch).
async fn step_overhead(args: &Args) -> Value {
    // The worker's metrics port is fixed here so its step timings can be read afterwards.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let c = {
        // One execution at a time: the overhead of the engine itself, not of contention
        // between executions for two cores.
        let c = cluster("bench-steps", 0, 1).await;
        let mut c = Arc::into_inner(c).expect("not shared yet");
        c.start_worker(&[("ACTUATE_WORKER_BIND", &format!("127.0.0.1:{port}"))]);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        Arc::new(c)
    };
    let steps = json!([
        python_step(TRIVIAL),
        python_step("result = 2"),
        c.webhook_step("/sink"),
        python_step("result = 3"),
        c.webhook_step("/sink"),
    ]);
    let action = c.create_action(steps, 3600).await;
    let n = if args.quick { 20 } else { 500 };
    submit(&c, &action, n, 4).await;
    wait_finished(&c, n as i64, Duration::from_secs(300)).await;
    let (total,): (f64,) = sqlx::query_as(
        "SELECT avg(EXTRACT(EPOCH FROM date_ended - date_running))::float8 * 1000 \
         FROM executions",
    )
    .fetch_one(c.store.pool())
    .await
    .unwrap();
    // The work itself: each step kind's mean duration as the worker timed it around the
    // step's code (the Python round trip to a runner, the HTTP request), without the
    // database writes and dispatch between steps.
    let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mean_ms = |kind: &str| {
        let series = |suffix: &str| {
            metrics
                .lines()
                .find(|l| {
                    l.starts_with(&format!("actuate_step_duration_seconds_{suffix}"))
                        && l.contains(&format!("type=\"{kind}\""))
                })
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<f64>().ok())
        };
        Some(series("sum")? / series("count")? * 1000.0)
    };
    let python = mean_ms("Python");
    let webhook = mean_ms("Webhook");
    let overhead = python
        .zip(webhook)
        .map(|(p, w)| (total - 3.0 * p - 2.0 * w) / 5.0);
    json!({
        "executions": n,
        "mean_running_to_completed_ms": total,
        "mean_step_work_ms_by_type": {"Python": python, "Webhook": webhook},
        "mean_overhead_per_step_ms": overhead,
    })
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A process and its children (the worker's Python runners).
fn tree_rss_mib(pid: u32) -> f64 {
    let mut total = rss_kib(pid);
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            let ppid = stat
                .rsplit(") ")
                .next()
                .and_then(|r| r.split(' ').nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(pid) {
                total += rss_kib(child);
            }
        }
    }
    total as f64 / 1024.0
}

/// Workload 4: resident memory idle and after workload 1's load.
async fn memory(args: &Args) -> Value {
    let c = cluster("bench-memory", 1, 32).await;
    let api_pid = c.apis[0].0.id().unwrap();
    let worker_pid = c.workers[0].as_ref().unwrap().id().unwrap();
    let idle = (tree_rss_mib(api_pid), tree_rss_mib(worker_pid));
    let action = c.create_action(json!([python_step(TRIVIAL)]), 3600).await;
    let n = if args.quick { 200 } else { args.executions };
    submit(&c, &action, n, args.clients).await;
    wait_finished(&c, n as i64, Duration::from_secs(1800)).await;
    let loaded = (tree_rss_mib(api_pid), tree_rss_mib(worker_pid));
    json!({
        "api_idle_mib": idle.0, "worker_with_runners_idle_mib": idle.1,
        "api_loaded_mib": loaded.0, "worker_with_runners_loaded_mib": loaded.1,
    })
}

/// Workload 6: Windmill's published flow benchmark: 40 (or 10) Python steps in sequence.
async fn anchor(args: &Args) -> Value {
    let c = cluster("bench-anchor", 1, 1).await;
    let fibo = |n: u32| {
        format!(
            "def fibo(n):\n    return n if n < 2 else fibo(n - 1) + fibo(n - 2)\nresult = fibo({n})"
        )
    };
    let mut out = serde_json::Map::new();
    for (label, steps, n) in [
        ("lightweight_40_fibo10", 40, 10),
        (
            "long_10_fibo33",
            if args.quick { 2 } else { 10 },
            if args.quick { 20 } else { 33 },
        ),
    ] {
        let action = c
            .create_action(
                Value::Array((0..steps).map(|_| python_step(&fibo(n))).collect()),
                3600,
            )
            .await;
        let mut totals = Vec::new();
        for _ in 0..args.repetitions {
            let t = Instant::now();
            let id = c.execute(0, &action).await;
            loop {
                let e = c.execution(&id).await;
                if e["status"] == "Completed" {
                    break;
                }
                assert_ne!(e["status"], "Failed", "{e}");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            totals.push(t.elapsed().as_secs_f64());
        }
        out.insert(
            label.into(),
            json!({"steps": steps, "median_seconds": median(totals)}),
        );
    }
    Value::Object(out)
}

/// Workload 7a: the database floor: pgbench with one insert and two updates per execution,
/// each its own commit, as an execution's lifecycle does.
async fn database_floor(args: &Args) -> Option<f64> {
    let bin = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin/pgbench"))
        .find(|p| p.exists())?;
    let url = actuate_tests::db::fresh_database().await;
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .ok()?;
    sqlx::raw_sql(
        "CREATE TABLE bench_exec (id bigserial PRIMARY KEY, status text NOT NULL, \
                   payload jsonb, updated timestamptz NOT NULL DEFAULT now())",
    )
    .execute(&mut conn)
    .await
    .ok()?;
    let script = std::env::temp_dir().join("actuate-pgbench.sql");
    std::fs::write(&script, "INSERT INTO bench_exec (status, payload) VALUES ('Queued', '{\"steps\": 1}') RETURNING id \\gset\n\
        UPDATE bench_exec SET status = 'Running', updated = now() WHERE id = :id;\n\
        UPDATE bench_exec SET status = 'Completed', updated = now() WHERE id = :id;\n").ok()?;
    let seconds = if args.quick { 3 } else { 15 };
    let output = tokio::process::Command::new(bin)
        .args([
            "-n",
            "-c",
            "8",
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-f",
            script.to_str()?,
            &url,
        ])
        .output()
        .await
        .ok()?;
    actuate_tests::db::drop_database(&url).await;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))?
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

/// Workload 7b: the broker floor: persistent 256-byte messages through a quorum queue with
/// publisher confirms (256 in flight) and manual acks.
async fn broker_floor(args: &Args) -> f64 {
    use futures_util::StreamExt;
    use lapin::options::*;
    let settings = actuate_tests::broker::test_queue_settings();
    let n = if args.quick { 2_000 } else { 50_000 };
    let conn = actuate_shared::queue::rabbitmq::connect(&settings, "bench")
        .await
        .unwrap();
    let publish = actuate_shared::queue::rabbitmq::Publisher::open(&conn, &settings)
        .await
        .unwrap();
    let consume = actuate_shared::queue::rabbitmq::consumer_channel(&conn, &settings, 256)
        .await
        .unwrap();
    let mut consumer = consume
        .basic_consume(
            settings.execution_queue().into(),
            "bench".into(),
            BasicConsumeOptions::default(),
            Default::default(),
        )
        .await
        .unwrap();
    let t = Instant::now();
    let reader = tokio::spawn(async move {
        let mut seen = 0;
        while seen < n {
            let d = consumer.next().await.unwrap().unwrap();
            d.ack(BasicAckOptions::default()).await.unwrap();
            seen += 1;
        }
    });
    let message = actuate_shared::message::ExecuteMessage {
        tenant_id: Default::default(),
        project_id: Default::default(),
        execution_id: Default::default(),
        next_step_type: Some("Python".into()),
    };
    let batch = vec![message; 256];
    let mut sent = 0;
    while sent < n {
        let k = (n - sent).min(256);
        for r in publish.publish_all(&batch[..k]).await.unwrap() {
            r.unwrap();
        }
        sent += k;
    }
    reader.await.unwrap();
    let rate = n as f64 / t.elapsed().as_secs_f64();
    actuate_tests::broker::delete_queues(&settings).await;
    rate
}

/// Workload 5: Celery with the same broker, a PostgreSQL result backend, the same task.
async fn celery(args: &Args, workers: usize) -> Option<Value> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let venv = std::process::Command::new("bash")
        .args([
            &format!("{root}/tests/bench/celery_venv.sh"),
            &format!("{root}/target/bench-venv"),
        ])
        .output()
        .ok()?;
    if !venv.status.success() {
        eprintln!(
            "celery venv failed: {}",
            String::from_utf8_lossy(&venv.stderr)
        );
        return None;
    }
    let python = String::from_utf8_lossy(&venv.stdout)
        .lines()
        .last()?
        .trim()
        .to_string();
    let url = actuate_tests::db::fresh_database().await;
    // SQLAlchemy knows the scheme only as `postgresql://`.
    let backend = format!("db+{}", url.replacen("postgres://", "postgresql://", 1));
    let queue = format!("bench_celery_{}", uuid::Uuid::new_v4().simple());
    let output = tokio::process::Command::new(&python)
        .args([
            &format!("{root}/tests/bench/celery_bench.py"),
            "--executions",
            &args.executions.to_string(),
            "--clients",
            &args.clients.to_string(),
            "--workers",
            &workers.to_string(),
            "--broker",
            &actuate_tests::broker::amqp_url(),
            "--backend",
            &backend,
            "--queue",
            &queue,
        ])
        .output()
        .await
        .ok()?;
    actuate_tests::db::drop_database(&url).await;
    if !output.status.success() {
        eprintln!(
            "celery run failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    serde_json::from_str(String::from_utf8_lossy(&output.stdout).lines().last()?).ok()
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
        let runs: Vec<f64> = {
            let mut v = Vec::new();
            for _ in 0..args.repetitions {
                v.push(throughput(&args, w).await);
            }
            v
        };
        eprintln!("throughput with {w} worker(s): {runs:?}");
        tp.insert(
            w.to_string(),
            json!({"runs": runs, "median_per_second": median(runs.clone())}),
        );
    }
    report.insert("throughput".into(), Value::Object(tp));
    if wants("latency") {
        report.insert("latency".into(), latency(&args).await);
    }
    if wants("steps") {
        report.insert("step_overhead".into(), step_overhead(&args).await);
    }
    if wants("memory") {
        report.insert("memory".into(), memory(&args).await);
    }
    if wants("anchor") {
        report.insert("anchor".into(), anchor(&args).await);
    }

    if !args.skip_celery && wants("celery") {
        let mut peer = serde_json::Map::new();
        for &w in &args.workers.clone() {
            let mut runs = Vec::new();
            for _ in 0..args.repetitions {
                if let Some(r) = celery(&args, w).await {
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
            dbs.extend(database_floor(&args).await);
            brokers.push(broker_floor(&args).await);
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
    print_table(&report);
    let text = serde_json::to_string_pretty(&Value::Object(report)).unwrap();
    std::fs::write(&args.json, text).expect("write JSON results");
    eprintln!("JSON written to {}", args.json);
}

fn print_table(r: &serde_json::Map<String, Value>) {
    let f = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.1}"));
    println!("Machine: {}\n", r["machine"]);
    println!("| workload | Actuate | Celery | ratio |");
    println!("|---|---|---|---|");
    let empty = serde_json::Map::new();
    let section = |name: &str| {
        r.get(name)
            .and_then(Value::as_object)
            .unwrap_or(&empty)
            .clone()
    };
    for (w, v) in &section("throughput") {
        let a = v["median_per_second"].as_f64().unwrap_or(0.0);
        let c = r
            .get("celery")
            .and_then(|c| c[w]["median_per_second"].as_f64());
        println!(
            "| throughput, {w} worker(s) (executions/s) | {a:.1} | {} | {} |",
            c.map_or("-".into(), |c| format!("{c:.1}")),
            c.map_or("-".into(), |c| format!("{:.2}×", a / c))
        );
    }
    let l = r.get("latency").cloned().unwrap_or(Value::Null);
    for key in [
        "queued_to_running_ms",
        "queued_to_completed_ms",
        "http_execute_ms",
        "http_get_execution_ms",
    ] {
        println!(
            "| latency at 100/s, {key} p50 / p90 / p99 / max | {} / {} / {} / {} | | |",
            f(&l[key]["p50"]),
            f(&l[key]["p90"]),
            f(&l[key]["p99"]),
            f(&l[key]["max"])
        );
    }
    let s = r.get("step_overhead").cloned().unwrap_or(Value::Null);
    println!(
        "| 5-step action: running → completed (ms) | {} | | |",
        f(&s["mean_running_to_completed_ms"])
    );
    for (t, ms) in s["mean_step_work_ms_by_type"].as_object().unwrap_or(&empty) {
        println!(
            "| 5-step action: mean {t} step, the work itself (ms) | {} | | |",
            f(ms)
        );
    }
    println!(
        "| 5-step action: overhead per step beyond the work (ms) | {} | | |",
        f(&s["mean_overhead_per_step_ms"])
    );
    let m = r.get("memory").cloned().unwrap_or(Value::Null);
    for key in [
        "api_idle_mib",
        "worker_with_runners_idle_mib",
        "api_loaded_mib",
        "worker_with_runners_loaded_mib",
    ] {
        println!("| RSS {key} | {} | | |", f(&m[key]));
    }
    for (label, v) in &section("anchor") {
        println!(
            "| Windmill anchor {label} ({} steps), total s | {:.3} | | |",
            v["steps"],
            v["median_seconds"].as_f64().unwrap_or(0.0)
        );
    }
    let lim = r.get("limits").cloned().unwrap_or(Value::Null);
    println!(
        "| database floor (pgbench insert + 2 updates, executions/s) | {} | | |",
        f(&lim["database_executions_per_second"])
    );
    println!(
        "| broker floor (publish-confirm-consume-ack, messages/s) | {} | | |",
        f(&lim["broker_messages_per_second"])
    );
    let floor = [
        lim["database_executions_per_second"].as_f64(),
        lim["broker_messages_per_second"].as_f64(),
    ]
    .into_iter()
    .flatten()
    .fold(f64::INFINITY, f64::min);
    let best = r["throughput"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|v| v["median_per_second"].as_f64())
        .fold(0.0, f64::max);
    if floor.is_finite() {
        println!(
            "| best Actuate throughput / lower floor | {:.2} | | |",
            best / floor
        );
    }
}
