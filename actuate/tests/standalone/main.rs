//! `actuate standalone` as a user runs it: the real binary on a fresh SQLite file in a temp
//! dir, on a free loopback port, with no PostgreSQL or RabbitMQ. The first start prints a key;
//! a Python step runs to completion through the API, the in-process queue and a runner
//! process; SIGTERM stops it with exit 0; a second start on the same file prints no new key,
//! and the first key still works. An execution left Running by a killed process is run again
//! by the next start at once, not after its lease.
//!
//! `cli`: the `actuate` client commands against a running standalone.
//! `control`: execution control (delayed runs) end to end.
//! `crash`: SIGKILLed twice in the middle of 200 executions, every one ends, exactly once.
//! `helpers`: starting the binary, its key, the API calls.

mod cli;
mod control;
mod crash;
mod helpers;

use helpers::{
    Standalone, base_url, data_file, ended, execute_python, free_port, json_of, temp_dir, wait_for,
};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn first_start_prints_a_key_that_runs_python_and_survives_a_restart() {
    let dir = temp_dir();
    let client = reqwest::Client::new();

    // First start: a key is created and printed, the token alone on the last line.
    let mut first = Standalone::start(&dir, free_port(), 1, &[]);
    let banner = first.read_until(|l| l.starts_with("act_")).await;
    let token = banner.last().unwrap().clone();
    let base = base_url(&banner);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(
        banner.iter().any(|l| l.starts_with("Tenant:")),
        "{banner:?}"
    );
    assert!(
        banner.iter().any(|l| l.starts_with("Project:")),
        "{banner:?}"
    );

    let id = execute_python(&client, &base, &token, "t", "result = 1").await;
    let detail = wait_for(&client, &base, &token, &id, ended).await;
    assert_eq!(detail["status"], "Completed", "{detail}\n{}", first.logs());
    assert_eq!(detail["attempt"], 1, "{detail}");
    assert_eq!(detail["steps"][0]["status"], "Completed", "{detail}");
    assert_eq!(detail["steps"][0]["output"], json!(1), "{detail}");

    // Secrets work out of the box: the key is made beside the data file, for this user only.
    let set = client
        .put(format!("{base}/secret/GREETING"))
        .bearer_auth(&token)
        .json(&json!({"value": "hello secret"}))
        .send()
        .await
        .expect("set a secret");
    assert_eq!(set.status(), 201);
    let key_file = format!("{}.secrets-key", data_file(&dir).display());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file)
            .expect("the key file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let id = execute_python(&client, &base, &token, "s", "result = secrets['GREETING']").await;
    let detail = wait_for(&client, &base, &token, &id, ended).await;
    assert_eq!(detail["steps"][0]["output"], "[redacted]", "{detail}");

    let logs_before = first.logs();
    let status = first.terminate().await;
    assert!(status.success(), "{status}\n{logs_before}");

    // Second start on the same file: no new key, the same project, and the old key works.
    let mut second = Standalone::start(&dir, free_port(), 2, &[]);
    let banner = second.read_until(|l| l.starts_with("API keys:")).await;
    assert!(
        !banner.iter().any(|l| l.starts_with("act_")),
        "a second token was printed: {banner:?}"
    );
    let again = base_url(&banner);
    let path = |url: &str| url.split_once("/api/").map(|(_, p)| p.to_string());
    assert_eq!(path(&again), path(&base), "{banner:?}");
    let id = execute_python(&client, &again, &token, "t2", "result = 2").await;
    let detail = wait_for(&client, &again, &token, &id, ended).await;
    assert_eq!(detail["status"], "Completed", "{detail}\n{}", second.logs());
    let listed = client
        .get(format!("{again}/action"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list actions");
    let listed = json_of(listed, 200).await;
    assert!(listed.to_string().contains("\"t\""), "{listed}");
    // The secret set before the restart is read with the same key.
    let id = execute_python(
        &client,
        &again,
        &token,
        "s2",
        "result = len(secrets['GREETING'])",
    )
    .await;
    let detail = wait_for(&client, &again, &token, &id, ended).await;
    assert_eq!(detail["steps"][0]["output"], json!(12), "{detail}");

    let status = second.terminate().await;
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_execution_left_running_by_a_killed_process_is_taken_up_at_the_next_start() {
    let dir = temp_dir();
    let client = reqwest::Client::new();
    let mut first = Standalone::start(&dir, free_port(), 1, &[]);
    let banner = first.read_until(|l| l.starts_with("act_")).await;
    let token = banner.last().unwrap().clone();
    let base = base_url(&banner);
    let code = "import time\ntime.sleep(1)\nresult = 'done'";
    let id = execute_python(&client, &base, &token, "slow", code).await;
    wait_for(&client, &base, &token, &id, |d| d["status"] == "Running").await;
    first.kill().await;

    // Far sooner than the 30 s lease: the start-up puts it back on the queue at once.
    let mut second = Standalone::start(&dir, free_port(), 2, &[]);
    let banner = second.read_until(|l| l.starts_with("API keys:")).await;
    let base = base_url(&banner);
    let started = std::time::Instant::now();
    let detail = wait_for(&client, &base, &token, &id, ended).await;
    assert_eq!(detail["status"], "Completed", "{detail}\n{}", second.logs());
    assert_eq!(detail["attempt"], 2, "{detail}");
    assert_eq!(detail["steps"][0]["output"], "done", "{detail}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let status = second.terminate().await;
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}
