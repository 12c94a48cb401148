//! Two API processes and three workers run many executions while one worker is killed and
//! restarted: none lost, none stuck, none run twice except the ones the killed worker had in
//! flight (a webhook already sent cannot be unsent; its step runs again, visibly as attempt 2).
//!
//! `ACTUATE_E2E_EXECUTIONS` sets the count (default 300 in the test suite; the full run
//! is 1,000).

use actuate_tests::cluster::Cluster;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_executions_with_a_worker_killed_and_restarted() {
    let total: usize = std::env::var("ACTUATE_E2E_EXECUTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let recovery = [
        ("ACTUATE_LEASE_SECONDS", "3"),
        ("ACTUATE_WORKER_CONCURRENCY", "16"),
    ];
    let mut cluster = Cluster::new("soak").await;
    cluster.start_api().await;
    cluster.start_api().await;
    for _ in 0..3 {
        cluster.start_worker(&recovery);
    }
    let action_id = cluster
        .create_action(
            json!([cluster.webhook_step("/a"), cluster.webhook_step("/slow/20")]),
            600,
        )
        .await;

    let mut ids = Vec::with_capacity(total);
    for i in 0..total {
        ids.push(cluster.execute(i % 2, &action_id).await);
        if i == total / 3 {
            cluster.kill_worker(1).await;
        }
        if i == total / 2 {
            cluster.restart_worker(1, &recovery);
        }
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        let counts = cluster.status_counts().await;
        let finished = counts.get("Completed").copied().unwrap_or(0)
            + counts.get("Failed").copied().unwrap_or(0);
        if finished as usize == total {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all finished: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let counts = cluster.status_counts().await;
    assert_eq!(
        counts.get("Completed").copied(),
        Some(total as i64),
        "all completed: {counts:?}"
    );

    // Which executions needed a second attempt (the killed worker's) and how often each
    // step-2 webhook arrived.
    let attempts: HashMap<String, i32> =
        sqlx::query_as::<_, (String, i32)>("SELECT execution_id::text, attempt FROM executions")
            .fetch_all(cluster.store.pool())
            .await
            .unwrap()
            .into_iter()
            .collect();
    let mut hits: HashMap<String, usize> = HashMap::new();
    for request in cluster.sink.requests() {
        if request.path == "/slow/20" {
            let id = request
                .header("x-actuate-execution-id")
                .unwrap()
                .to_string();
            *hits.entry(id).or_default() += 1;
        }
    }
    let mut retried = 0;
    for id in &ids {
        let n = hits.get(id).copied().unwrap_or(0);
        assert!(n >= 1, "{id} never ran its last step");
        if attempts[id] == 1 {
            assert_eq!(n, 1, "{id} ran twice without losing its worker");
        } else {
            retried += 1;
        }
    }
    eprintln!("{total} executions: all completed, {retried} re-run after the kill");
}
