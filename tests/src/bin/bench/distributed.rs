//! The distributed mode's workloads: real `actuate-api` and `actuate-worker` processes on
//! PostgreSQL and RabbitMQ ([`Cluster`]), driven over HTTP: throughput (1), latency at a fixed
//! rate (2), the overhead per step of a 5-step action (3), resident memory (4) and Windmill's
//! flow benchmark (6). Throughput comes with the CPU time per execution of each process group.

use crate::{Args, TRIVIAL, cpu, median, paced, percentiles, python_step, quantiles};
use actuate_tests::cluster::Cluster;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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

/// Workload 1: executions per second, first request to last Completed, the CPU time (ms) per
/// execution each group of processes spent over the same span ([`cpu_groups`]), and the
/// execute requests' latencies (ms) under that load.
pub(crate) async fn throughput(args: &Args, workers: usize) -> (f64, Option<Value>, Vec<f64>) {
    let c = cluster(&format!("bench-tp{workers}"), workers, args.concurrency).await;
    let action = c.create_action(json!([python_step(TRIVIAL)]), 3600).await;
    let cpu_before = cpu_groups(&c);
    let t = Instant::now();
    let execute_ms = submit(&c, &action, args.executions, args.clients).await;
    let submitted = t.elapsed().as_secs_f64();
    let backlog = c.status_counts().await;
    wait_finished(&c, args.executions as i64, Duration::from_secs(1800)).await;
    let rate = args.executions as f64 / t.elapsed().as_secs_f64();
    let cpu = cpu_before
        .zip(cpu_groups(&c))
        .map(|(before, after)| cpu::per_execution(&before, &after, args.executions));
    eprintln!(
        "  {workers} worker(s): {rate:.0}/s; all submitted after {submitted:.1} s ({:.0}/s), \
         then {backlog:?}; CPU ms per execution: {}",
        args.executions as f64 / submitted,
        cpu.as_ref().map_or("?".into(), cpu::describe),
    );
    (rate, cpu, execute_ms)
}

/// The CPU time (ms) spent so far by each group of processes the throughput run involves:
/// the API processes, the worker processes alone, their Python runners (live, and those that
/// exited, once the worker reaped them), PostgreSQL and RabbitMQ (every process of the
/// machine's servers, shared with whatever else uses them) and this process, the load
/// generator ([`cpu::CLIENT`]).
fn cpu_groups(c: &Cluster) -> Option<Vec<(&'static str, f64)>> {
    let s = cpu::Snapshot::take()?;
    let apis: Vec<u32> = c.apis.iter().filter_map(|(child, _)| child.id()).collect();
    let workers: Vec<u32> = c.workers.iter().flatten().filter_map(|w| w.id()).collect();
    let sum = |pids: &[u32], f: &dyn Fn(u32) -> f64| pids.iter().map(|&p| f(p)).sum::<f64>();
    Some(vec![
        ("api", sum(&apis, &|p| s.tree_ms(p))),
        ("worker", sum(&workers, &|p| s.own_ms(p))),
        ("runners", sum(&workers, &|p| s.tree_ms(p) - s.own_ms(p))),
        ("postgres", s.named_trees_ms("postgres")),
        ("rabbitmq", s.named_trees_ms("beam.smp")),
        (cpu::CLIENT, s.own_ms(std::process::id())),
    ])
}

/// Workload 2: latencies at a fixed rate of 100 executions per second.
pub(crate) async fn latency(args: &Args) -> Value {
    let c = cluster("bench-latency", 2, 32).await;
    let action = c.create_action(json!([python_step(TRIVIAL)]), 3600).await;
    let seconds = if args.quick { 2 } else { 20 };
    let total = 100 * seconds;
    let (execute, get) = paced(total, || {
        let (c, action) = (c.clone(), action.clone());
        async move {
            let t = Instant::now();
            let id = c.execute(0, &action).await;
            let execute_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            c.execution(&id).await;
            (execute_ms, t.elapsed().as_secs_f64() * 1e3)
        }
    })
    .await;
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
        "queued_to_running_quantiles_ms": quantiles(rows.iter().map(|r| r.0).collect()),
        "queued_to_completed_quantiles_ms": quantiles(rows.iter().map(|r| r.1).collect()),
        "http_execute_ms": percentiles(execute),
        "http_get_execution_ms": percentiles(get),
    })
}

/// Workload 3: a 5-step action run one execution at a time; what each step costs beyond its
/// work (the database write that records it and starts the next, and the dispatch).
pub(crate) async fn step_overhead(args: &Args) -> Value {
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
pub(crate) async fn memory(args: &Args) -> Value {
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
pub(crate) async fn anchor(args: &Args) -> Value {
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
