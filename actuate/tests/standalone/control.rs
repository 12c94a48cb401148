//! Execution control end to end in one process: a delayed run is released by the worker's
//! own release task at its time, not before, and then runs.

use crate::helpers::{
    Standalone, base_url, create_action, ended, free_port, json_of, temp_dir, wait_for,
};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_delayed_run_starts_at_its_time_and_not_before() {
    let dir = temp_dir();
    let client = reqwest::Client::new();
    let mut standalone = Standalone::start(&dir, free_port(), 1, &[]);
    let banner = standalone.read_until(|l| l.starts_with("act_")).await;
    let token = banner.last().unwrap().clone();
    let base = base_url(&banner);
    let action = json!({
        "name": "later",
        "steps": [{"stepType": "Python", "settings": json!({"code": "result = 7"}).to_string()}],
    });
    let action_id = create_action(&client, &base, &token, &action).await;

    let executed = client
        .post(format!("{base}/action/execute/{action_id}"))
        .bearer_auth(&token)
        .json(&json!({"delaySeconds": 2}))
        .send()
        .await
        .expect("execute");
    let id = json_of(executed, 200).await["actionExecutionId"]
        .as_str()
        .unwrap()
        .to_string();

    tokio::time::sleep(Duration::from_millis(1000)).await;
    let early = wait_for(&client, &base, &token, &id, |_| true).await;
    assert_eq!(early["status"], "Queued", "{early}");
    assert_eq!(early["attempt"], 0, "{early}");
    let run_at: DateTime<Utc> = early["runAt"].as_str().unwrap().parse().unwrap();

    let done = wait_for(&client, &base, &token, &id, ended).await;
    assert_eq!(done["status"], "Completed", "{done}\n{}", standalone.logs());
    assert_eq!(done["steps"][0]["output"], json!(7), "{done}");
    let started: DateTime<Utc> = done["steps"][0]["dateStarted"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        started >= run_at,
        "started {started}, before its runAt {run_at}"
    );

    let status = standalone.terminate().await;
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}
