//! The markdown table printed at the end of a run: one row per figure, the distributed mode's
//! and standalone mode's side by side, Celery's beside Actuate's where there is one. Each
//! throughput row is followed by the CPU time per execution of each process group.

use crate::cpu;
use serde_json::Value;

pub(crate) fn print_table(r: &serde_json::Map<String, Value>) {
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
        // Celery measures its worker tree only (no broker, no database, no client).
        let celery_cpu = r.get("celery").and_then(|c| celery_cpu_ms(&c[w]));
        println!(
            "| throughput, {w} worker(s): CPU per execution (ms; PostgreSQL and RabbitMQ \
             machine-wide during the run) | {} | {} | |",
            cpu::describe(&v["cpu_ms_per_execution"]["median"]),
            celery_cpu.map_or("-".into(), |c| format!("worker tree {c:.2}")),
        );
        let e = &v["execute_ms"];
        println!(
            "| throughput, {w} worker(s): execute request under this load, p50 / p99 / max (ms) \
             | {} / {} / {} | | |",
            f(&e["p50"]),
            f(&e["p99"]),
            f(&e["max"])
        );
    }
    // Standalone mode beside the distributed mode: the same action, clients and executions.
    let st = r.get("standalone").cloned().unwrap_or(Value::Null);
    let st_rate = st["throughput"]["median_per_second"].as_f64();
    println!(
        "| throughput, standalone (executions/s) | {} | | |",
        f(&st["throughput"]["median_per_second"])
    );
    println!(
        "| throughput, standalone: CPU per execution (ms) | {} | | |",
        cpu::describe(&st["throughput"]["cpu_ms_per_execution"]["by_group"])
    );
    let one_worker = r["throughput"]["1"]["median_per_second"].as_f64();
    if let (Some(s), Some(d)) = (st_rate, one_worker) {
        println!(
            "| standalone / distributed 1-worker throughput | {:.2}× | | |",
            s / d
        );
    }
    let l = r.get("latency").cloned().unwrap_or(Value::Null);
    let sl = st["latency"].clone();
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
        println!(
            "| latency at 100/s, standalone {key} p50 / p90 / p99 / max | {} / {} / {} / {} | | |",
            f(&sl[key]["p50"]),
            f(&sl[key]["p90"]),
            f(&sl[key]["p99"]),
            f(&sl[key]["max"])
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

/// Celery's CPU ms per task: the median over its runs of its worker tree's CPU seconds (as
/// `celery_bench.py` measures them, over the measured part of the run) per task.
fn celery_cpu_ms(workers: &Value) -> Option<f64> {
    let per_task: Vec<f64> = workers["runs"]
        .as_array()?
        .iter()
        .filter_map(|r| Some(r["worker_cpu_seconds"].as_f64()? * 1e3 / r["executions"].as_f64()?))
        .collect();
    (!per_task.is_empty()).then(|| crate::median(per_task))
}
