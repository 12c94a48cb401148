//! Python step costs, printed as a markdown table (a measurement, not a test):
//! - the per-step overhead of a trivial step (`result = 1`) through the warm runner pool, for
//!   one tenant and alternating between two (a new session each step),
//!   against spawning `python3 -c` per step as subprocess-based engines do;
//! - the throughput of CPU-bound steps with 1 and 2 runners.
//!
//! Run: `cargo bench -p actuate-worker --bench python_steps` (`BENCH_QUICK=1` for a smoke run).

use actuate_worker::net_guard::NetGuard;
use actuate_worker::python::protocol::RunRequest;
use actuate_worker::python::{PoolConfig, PythonPool};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pool(size: usize) -> Arc<PythonPool> {
    PythonPool::new(
        PoolConfig {
            size,
            recycle_after: u32::MAX,
            ..PoolConfig::new(env!("CARGO_BIN_EXE_actuate-worker").into())
        },
        NetGuard::default(),
    )
}

fn request(code: &str) -> RunRequest {
    RunRequest {
        source: code.into(),
        filename: "<bench>".into(),
        function: None,
        context: json!({"execution": {"id": "bench"}, "input": null, "steps": {}}),
        secrets: Default::default(),
        log_cap: 1024 * 1024,
    }
}

struct Stats {
    mean: Duration,
    p50: Duration,
    p99: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let sum: Duration = samples.iter().sum();
    Stats {
        mean: sum / samples.len() as u32,
        p50: samples[samples.len() / 2],
        p99: samples[(samples.len() * 99 / 100).min(samples.len() - 1)],
    }
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

const FIB: &str =
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\nresult = fib(24)";

#[tokio::main]
async fn main() {
    let quick = std::env::var("BENCH_QUICK").is_ok();
    let (n_pool, n_spawn, n_cpu) = if quick { (50, 5, 4) } else { (3000, 200, 40) };

    // Trivial step through a warm runner.
    let one = pool(1);
    one.warm().await.expect("runners start");
    let trivial = request("result = 1");
    for _ in 0..20 {
        one.run("bench", &trivial).await.unwrap();
    }
    let mut samples = Vec::with_capacity(n_pool);
    for _ in 0..n_pool {
        let t = Instant::now();
        let response = one.run("bench", &trivial).await.unwrap();
        samples.push(t.elapsed());
        assert!(response.ok);
    }
    let pooled = stats(samples);

    // The same step, alternating between two tenants: every step starts a new session (with
    // a pause between steps, as real executions have, in which the next session is forked and
    // warmed up ahead; back to back, the fork itself would be paid too).
    let n_switch = n_pool / 10;
    let mut samples = Vec::with_capacity(n_switch);
    for i in 0..n_switch {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let tenant = if i % 2 == 0 { "tenant-a" } else { "tenant-b" };
        let t = Instant::now();
        let response = one.run(tenant, &trivial).await.unwrap();
        samples.push(t.elapsed());
        assert!(response.ok);
    }
    let switching = stats(samples);

    // The same step as a fresh `python3 -c` per step.
    let mut samples = Vec::with_capacity(n_spawn);
    for _ in 0..n_spawn {
        let t = Instant::now();
        let status = tokio::process::Command::new("/usr/bin/python3")
            .args(["-c", "result = 1"])
            .status()
            .await
            .unwrap();
        samples.push(t.elapsed());
        assert!(status.success());
    }
    let spawned = stats(samples);

    // CPU-bound steps, as many in flight as runners.
    let mut throughput = Vec::new();
    for size in [1usize, 2] {
        let p = pool(size);
        p.warm().await.expect("runners start");
        let cpu = Arc::new(request(FIB));
        p.run("bench", &cpu).await.unwrap();
        let t = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..n_cpu {
            let (p, cpu) = (p.clone(), cpu.clone());
            tasks.push(tokio::spawn(
                async move { p.run("bench", &cpu).await.unwrap() },
            ));
        }
        for task in tasks {
            assert!(task.await.unwrap().ok);
        }
        throughput.push((size, n_cpu as f64 / t.elapsed().as_secs_f64()));
    }

    println!("| measurement | mean | p50 | p99 |");
    println!("|---|---|---|---|");
    println!(
        "| trivial step via warm runner pool (n={n_pool}) | {} | {} | {} |",
        us(pooled.mean),
        us(pooled.p50),
        us(pooled.p99)
    );
    println!(
        "| trivial step, another tenant each time (new session; n={n_switch}) | {} | {} | {} |",
        us(switching.mean),
        us(switching.p50),
        us(switching.p99)
    );
    println!(
        "| trivial step via `python3 -c` subprocess (n={n_spawn}) | {} | {} | {} |",
        us(spawned.mean),
        us(spawned.p50),
        us(spawned.p99)
    );
    println!();
    println!("| CPU-bound steps (fib(24)), {n_cpu} steps | steps/s |");
    println!("|---|---|");
    for (size, rate) in &throughput {
        println!("| {size} runner(s) | {rate:.1} |");
    }
    println!(
        "\nspeed-up of the pool over a subprocess per step: {:.0}x (mean)",
        spawned.mean.as_secs_f64() / pooled.mean.as_secs_f64()
    );
}
