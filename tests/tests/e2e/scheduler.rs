//! Three scheduler processes against one database, one killed and restarted, then all of them
//! down for a while: every slot of an every-second trigger is recorded exactly once, fired or
//! missed, and every fired slot has exactly one execution.

use actuate_tests::cluster::Cluster;
use actuate_tests::procs::{self, SIGKILL};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_schedulers_fire_each_slot_exactly_once() {
    let mut cluster = Cluster::new("schedulers").await;
    cluster
        .start_api_with(&[("ACTUATE_SCHEDULER", "false")])
        .await;
    cluster.start_worker(&[]);
    let mut schedulers: Vec<_> = (0..3)
        .map(|i| cluster.start_scheduler(&format!("s{i}")))
        .collect();
    let action_id = cluster
        .create_scheduled_action(
            json!([{"triggerType": "CronScheduler", "settings": {"cron": "* * * * * *"}}]),
        )
        .await;

    tokio::time::sleep(Duration::from_secs(3)).await;
    procs::signal(&schedulers[1], SIGKILL);
    let _ = schedulers[1].wait().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    schedulers[1] = cluster.start_scheduler("s1-restarted");
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Every scheduler down for three seconds: those slots are missed, then caught up.
    for s in &mut schedulers {
        procs::signal(s, SIGKILL);
        let _ = s.wait().await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    schedulers = vec![cluster.start_scheduler("s-after-outage")];
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.disable_action(&action_id).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let slots: Vec<(DateTime<Utc>, String)> =
        sqlx::query_as("SELECT slot, status FROM trigger_firings ORDER BY slot")
            .fetch_all(cluster.store.pool())
            .await
            .unwrap();
    assert!(slots.len() >= 10, "slots recorded: {}", slots.len());
    for pair in slots.windows(2) {
        assert_eq!(
            (pair[1].0 - pair[0].0).num_milliseconds(),
            1000,
            "a slot went unrecorded between {} and {}",
            pair[0].0,
            pair[1].0
        );
    }
    let fired = slots.iter().filter(|(_, s)| s == "fired").count() as i64;
    let missed = slots.len() as i64 - fired;
    assert!(missed >= 1, "the outage left missed slots on record");
    let executions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM executions WHERE trigger = 'schedule'")
            .fetch_one(cluster.store.pool())
            .await
            .unwrap();
    assert_eq!(
        executions, fired,
        "one execution per fired slot, none twice"
    );
    let unmatched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM trigger_firings f WHERE status = 'fired' \
         AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.execution_id = f.execution_id)",
    )
    .fetch_one(cluster.store.pool())
    .await
    .unwrap();
    assert_eq!(unmatched, 0);
    eprintln!("{} slots: {fired} fired, {missed} missed", slots.len());
    drop(schedulers);
}
