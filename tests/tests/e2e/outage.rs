//! A database outage longer than the lease, but shorter than `ACTUATE_DB_OUTAGE_GRACE`: no
//! worker was lost, so no step runs twice, and the API answers 503 at once meanwhile.

use actuate_tests::cluster::Cluster;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const LEASE: [(&str, &str); 1] = [("ACTUATE_LEASE_SECONDS", "2")];

#[tokio::test]
async fn a_database_outage_longer_than_the_lease_re_runs_no_step() {
    let mut cluster = Cluster::new("db-outage").await;
    cluster.proxy_database().await;
    cluster.start_api().await;
    cluster.start_worker(&LEASE);
    cluster.start_worker(&LEASE);
    let action_id = cluster
        .create_action(
            json!([
                cluster.webhook_step("/slow/5000"),
                cluster.webhook_step("/after")
            ]),
            120,
        )
        .await;
    let mut executions = Vec::new();
    for _ in 0..3 {
        executions.push(cluster.execute(0, &action_id).await);
    }
    // All three are inside their slow step when the database goes away, for three leases.
    cluster.sink.wait_for(3, Duration::from_secs(20)).await;
    let proxy = cluster.database_proxy.as_ref().expect("proxied");
    proxy.disable();
    let outage = Instant::now();

    // The API says so at once: 503, Retry-After, a JSON error; never a 500 or a hang.
    let url = format!("{}/actionexecution/{}", cluster.base(0), executions[0]);
    for _ in 0..2 {
        let asked = Instant::now();
        let response = cluster
            .client
            .get(&url)
            .bearer_auth(&cluster.token)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("the API answers during the outage");
        let waited = asked.elapsed();
        assert_eq!(response.status(), 503);
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("1")
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"error": "storage unavailable"}));
        // The pool waits one acquire timeout (1 s) at most, then the gate answers at once:
        // far from the 5 s clients used to wait.
        assert!(waited < Duration::from_secs(3), "answered after {waited:?}");
    }
    tokio::time::sleep(Duration::from_secs(6).saturating_sub(outage.elapsed())).await;
    cluster.database_proxy.as_ref().unwrap().enable();

    for execution_id in &executions {
        let done = cluster
            .wait_status(execution_id, "Completed", Duration::from_secs(30))
            .await;
        assert_eq!(done["attempt"], 1, "kept by its worker: {done}");
    }
    let mut paths: Vec<_> = cluster
        .sink
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/after",
            "/after",
            "/after",
            "/slow/5000",
            "/slow/5000",
            "/slow/5000"
        ],
        "every webhook delivered once"
    );
}
