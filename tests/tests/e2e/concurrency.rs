//! `maxConcurrency` across processes: four workers with 32 slots each run many executions of
//! an action limited to 3 while one worker is killed. The number of its executions Running at
//! once, sampled from the database throughout, reaches 3 and never exceeds it; a killed
//! worker's slots free when the reaper takes its leases; every execution ends Completed.

use actuate_tests::cluster::Cluster;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const LIMIT: i64 = 3;
const TOTAL: usize = 48;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_holds_across_workers_while_one_is_killed() {
    let env = [
        ("ACTUATE_LEASE_SECONDS", "3"),
        ("ACTUATE_WORKER_CONCURRENCY", "32"),
    ];
    let mut cluster = Cluster::new("concurrency").await;
    cluster.start_api().await;
    for _ in 0..4 {
        cluster.start_worker(&env);
    }
    let action_id = cluster
        .post_action(json!({
            "name": format!("limited {}", uuid::Uuid::new_v4()),
            "maxRunTime": 600,
            "maxConcurrency": LIMIT,
            "steps": [cluster.webhook_step("/slow/150")],
        }))
        .await;

    let pool = cluster.store.pool().clone();
    let done = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn({
        let done = done.clone();
        async move {
            let mut most = 0i64;
            while !done.load(Ordering::Relaxed) {
                let running: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM executions WHERE status = 'Running'")
                        .fetch_one(&pool)
                        .await
                        .unwrap();
                most = most.max(running);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            most
        }
    });

    for i in 0..TOTAL {
        cluster.execute(0, &action_id).await;
        if i == TOTAL / 3 {
            cluster.kill_worker(0).await;
        }
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        let counts = cluster.status_counts().await;
        let finished = counts.get("Completed").copied().unwrap_or(0)
            + counts.get("Failed").copied().unwrap_or(0);
        if finished as usize == TOTAL {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all finished: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    done.store(true, Ordering::Relaxed);
    let most = sampler.await.unwrap();
    let counts = cluster.status_counts().await;
    assert_eq!(
        counts.get("Completed").copied(),
        Some(TOTAL as i64),
        "every execution ends: {counts:?}"
    );
    assert_eq!(most, LIMIT, "the most Running at once is the limit");
}
