//! Keeps the benchmark harness from rotting: a `--quick` run must complete and report every
//! section. No figure is asserted: performance is measured, never tested.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_harness_runs_in_quick_mode() {
    let dir = std::env::temp_dir().join(format!("actuate-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("results.json");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--quick", "--skip-celery", "--json", json.to_str().unwrap()])
        .output()
        .await
        .expect("run the bench binary");
    assert!(
        output.status.success(),
        "bench --quick failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for section in [
        "machine",
        "throughput",
        "latency",
        "standalone",
        "step_overhead",
        "memory",
        "anchor",
        "limits",
    ] {
        assert!(
            report.get(section).is_some_and(|v| !v.is_null()),
            "section {section} missing: {report}"
        );
    }
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("| workload | Actuate | Celery | ratio |")
    );
    // The charts are drawn beside the JSON, with the data in them.
    for chart in ["bench-throughput.svg", "bench-latency.svg"] {
        let svg = std::fs::read_to_string(dir.join(chart)).unwrap_or_default();
        assert!(
            svg.starts_with("<svg") && svg.contains("<polyline"),
            "{chart} missing or without data lines"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
