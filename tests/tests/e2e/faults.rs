use actuate_tests::cluster::Cluster;
use serde_json::json;
use std::time::Duration;

/// Short leases so that a lost worker is noticed within seconds.
const FAST_RECOVERY: [(&str, &str); 1] = [("ACTUATE_LEASE_SECONDS", "2")];

#[tokio::test]
async fn a_worker_killed_mid_execution_does_not_leave_it_stuck() {
    let mut cluster = Cluster::new("kill9").await;
    cluster.start_api().await;
    cluster.start_worker(&FAST_RECOVERY);
    let action_id = cluster
        .create_action(
            json!([
                cluster.webhook_step("/first"),
                cluster.webhook_step("/slow/4000")
            ]),
            120,
        )
        .await;
    let execution_id = cluster.execute(0, &action_id).await;
    cluster
        .wait_status(&execution_id, "Running", Duration::from_secs(20))
        .await;
    cluster.sink.wait_for(2, Duration::from_secs(10)).await;
    let owner = cluster.lease_owner(&execution_id).await.unwrap_or_default();
    assert!(owner.starts_with("worker-0/"), "held by worker-0: {owner}");

    // The only worker dies in the middle of step 2; another one comes up.
    cluster.kill_worker(0).await;
    cluster.start_worker(&FAST_RECOVERY);
    let done = cluster
        .wait_status(&execution_id, "Completed", Duration::from_secs(60))
        .await;
    assert_eq!(done["attempt"], 2, "finished by the second worker");
    let paths: Vec<_> = cluster
        .sink
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        paths,
        vec!["/first", "/slow/4000", "/slow/4000"],
        "the completed step 1 did not run again; step 2 did, once more"
    );
    let counts = cluster.status_counts().await;
    assert_eq!(counts.get("Running"), None, "nothing stuck Running");
}

/// An API and one worker with shutdown grace `grace` (seconds), running one execution whose
/// webhook step takes `slow_ms`.
async fn running_slow_webhook(
    name: &str,
    grace: &str,
    slow_ms: u64,
    max_run_time: i64,
) -> (Cluster, String) {
    let mut cluster = Cluster::new(name).await;
    cluster.start_api().await;
    cluster.start_worker(&[("ACTUATE_SHUTDOWN_GRACE", grace)]);
    let step = cluster.webhook_step(&format!("/slow/{slow_ms}"));
    let action_id = cluster.create_action(json!([step]), max_run_time).await;
    let execution_id = cluster.execute(0, &action_id).await;
    cluster
        .wait_status(&execution_id, "Running", Duration::from_secs(20))
        .await;
    (cluster, execution_id)
}

#[tokio::test]
async fn sigterm_lets_running_executions_finish_within_the_grace_period() {
    let (mut cluster, execution_id) = running_slow_webhook("sigterm", "20", 2000, 60).await;

    let status = cluster.stop_worker(0, Duration::from_secs(30)).await;
    assert!(status.success(), "exit 0 after a graceful stop: {status}");
    let execution = cluster.execution(&execution_id).await;
    assert_eq!(
        execution["status"], "Completed",
        "finished before the worker exited"
    );
}

#[tokio::test]
async fn sigterm_releases_what_cannot_finish_in_time_to_another_worker() {
    let (mut cluster, execution_id) = running_slow_webhook("release", "1", 3000, 120).await;

    let status = cluster.stop_worker(0, Duration::from_secs(30)).await;
    assert!(status.success(), "{status}");
    let released = cluster.execution(&execution_id).await;
    assert_eq!(
        released["status"], "Queued",
        "released, not left Running: {released}"
    );

    // Another worker takes it at once (no lease to wait out).
    cluster.start_worker(&[]);
    let done = cluster
        .wait_status(&execution_id, "Completed", Duration::from_secs(30))
        .await;
    assert_eq!(done["attempt"], 2);
}
