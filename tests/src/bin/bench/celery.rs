//! Workload 5, the peer: Celery 5 with the same broker, a PostgreSQL result backend and the
//! same trivial task, driven by `tests/bench/celery_bench.py` in a virtualenv made from PyPI
//! (`tests/bench/celery_venv.sh`).

use crate::Args;
use serde_json::Value;

/// Workload 5: Celery with the same broker, a PostgreSQL result backend, the same task.
pub(crate) async fn celery(args: &Args, workers: usize) -> Option<Value> {
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
