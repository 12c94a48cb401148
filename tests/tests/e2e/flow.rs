use actuate_tests::cluster::Cluster;
use actuate_tests::proxy::ToggleProxy;
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

#[tokio::test]
async fn execute_runs_to_completion_across_processes() {
    let mut cluster = Cluster::new("flow").await;
    cluster.start_api().await;
    cluster.start_worker(&[]);
    let action_id = cluster
        .create_action(
            json!([cluster.webhook_step("/one"), cluster.webhook_step("/two")]),
            60,
        )
        .await;
    let execution_id = cluster.execute(0, &action_id).await;
    let done = cluster
        .wait_status(&execution_id, "Completed", Duration::from_secs(20))
        .await;
    assert_eq!(done["notes"], serde_json::Value::Null);
    assert!(done["dateEnded"].is_string());
    assert_eq!(done["steps"][1]["output"]["status"], 200);
    let paths: Vec<_> = cluster
        .sink
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths, vec!["/one", "/two"]);

    let failing = cluster
        .create_action(json!([cluster.webhook_step("/status/500")]), 60)
        .await;
    let failed_id = cluster.execute(0, &failing).await;
    let failed = cluster
        .wait_status(&failed_id, "Failed", Duration::from_secs(20))
        .await;
    assert!(
        failed["notes"]
            .as_str()
            .unwrap()
            .starts_with("step 1 (Webhook) failed: HTTP 500"),
        "{failed}"
    );
}

#[tokio::test]
async fn executions_accepted_during_a_broker_outage_all_complete_after_it() {
    let proxy = ToggleProxy::start("127.0.0.1:5672".parse().unwrap()).await;
    let mut cluster = Cluster::new("outage").await;
    cluster.amqp_url = format!("amqp://guest:guest@{}/%2f", proxy.addr);
    cluster.start_api().await;
    cluster.start_worker(&[]);
    let action_id = cluster
        .create_action(json!([cluster.webhook_step("/hit")]), 60)
        .await;
    // Everything connected and working first.
    let warmup = cluster.execute(0, &action_id).await;
    cluster
        .wait_status(&warmup, "Completed", Duration::from_secs(20))
        .await;

    proxy.disable();
    let mut accepted = Vec::new();
    for _ in 0..100 {
        accepted.push(cluster.execute(0, &action_id).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        cluster.sink.requests().len(),
        1,
        "nothing ran while the broker was away"
    );

    proxy.enable();
    for id in &accepted {
        cluster
            .wait_status(id, "Completed", Duration::from_secs(60))
            .await;
    }
    let ids: HashSet<String> = cluster
        .sink
        .requests()
        .iter()
        .filter_map(|r| r.header("x-actuate-execution-id").map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 101, "every execution ran");
    assert_eq!(cluster.sink.requests().len(), 101, "and none ran twice");
}
