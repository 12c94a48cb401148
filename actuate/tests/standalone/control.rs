//! Execution control end to end in one process: a delayed run is released by the worker's
//! own release task at its time, not before, and then runs; a step waiting out a retry's
//! backoff survives a SIGKILL of the process and is retried after the restart.

use crate::helpers::{
    Standalone, base_url, create_action, ended, execute, free_port, json_of, temp_dir, wait_for,
};
use actuate_tests::sink::Sink;
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

#[tokio::test]
async fn a_retry_waiting_out_its_backoff_survives_a_kill_of_the_process() {
    let dir = temp_dir();
    let client = reqwest::Client::new();
    let sink = Sink::start().await;
    let allow = [("ACTUATE_WEBHOOK_ALLOW", "127.0.0.1/32")];
    let mut first = Standalone::start(&dir, free_port(), 1, &allow);
    let banner = first.read_until(|l| l.starts_with("act_")).await;
    let token = banner.last().unwrap().clone();
    let base = base_url(&banner);
    let action = json!({
        "name": "flaky",
        "steps": [{
            "stepType": "Webhook",
            "settings": json!({"url": sink.url("/flaky/1/503")}).to_string(),
            "retry": {"maxAttempts": 3, "initialDelaySeconds": 3, "maxDelaySeconds": 3},
        }],
    });
    let action_id = create_action(&client, &base, &token, &action).await;
    let id = execute(&client, &base, &token, &action_id).await;

    // The first try fails with a 503; the execution waits out its backoff (1.5 to 3 s).
    let held = wait_for(&client, &base, &token, &id, |d| {
        d["steps"][0]["attempts"] == 1 && d["status"] == "Queued"
    })
    .await;
    assert!(
        held["steps"][0]["error"].as_str().unwrap().contains("503"),
        "{held}"
    );
    first.kill().await;

    // Nothing of it was held by the killed process: the next one retries it when the wait is
    // over, and the second try passes.
    let mut second = Standalone::start(&dir, free_port(), 2, &allow);
    let banner = second.read_until(|l| l.starts_with("API keys:")).await;
    let base = base_url(&banner);
    let done = wait_for(&client, &base, &token, &id, ended).await;
    assert_eq!(done["status"], "Completed", "{done}\n{}", second.logs());
    assert_eq!(done["steps"][0]["attempts"], 2, "{done}");
    let requests = sink.requests();
    assert_eq!(requests.len(), 2, "one request per try");

    let status = second.terminate().await;
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}
