//! `actuate standalone` as a user runs it: the real binary on a fresh SQLite file in a temp
//! dir, on a free loopback port, with no PostgreSQL or RabbitMQ. The first start prints a key;
//! a Python step runs to completion through the API, the in-process queue and a runner
//! process; SIGTERM stops it with exit 0; a second start on the same file prints no new key,
//! and the first key still works. An execution left Running by a killed process is run again
//! by the next start at once, not after its lease.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const WAIT: Duration = Duration::from_secs(60);

/// A running `actuate standalone`, its stdout read line by line; stderr goes to a file.
struct Standalone {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    log: PathBuf,
}

impl Standalone {
    fn start(dir: &Path, port: u16, run: usize) -> Self {
        let log = dir.join(format!("stderr-{run}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_actuate"))
            .arg("standalone")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env("ACTUATE_DATA", dir.join("actuate.db"))
            .env("ACTUATE_BIND", format!("127.0.0.1:{port}"))
            .env("ACTUATE_SHUTDOWN_GRACE", "5")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn actuate standalone");
        let mut child = child;
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Self { child, stdout, log }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stdout up to and including the first line `last` accepts.
    async fn read_until(&mut self, last: impl Fn(&str) -> bool) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = tokio::time::timeout(WAIT, self.stdout.next_line())
                .await
                .unwrap_or_else(|_| panic!("no output for {WAIT:?}: {lines:?}\n{}", self.logs()))
                .expect("read stdout");
            let Some(line) = line else {
                panic!("stdout closed early: {lines:?}\n{}", self.logs());
            };
            let done = last(&line);
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// SIGKILL: nothing is cleaned up, as after a crash or a power cut.
    async fn kill(mut self) {
        self.child.kill().await.expect("kill");
    }

    /// SIGTERM, then the exit status.
    async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running") as i32;
        // SAFETY: kill(2) on our own child; no memory is involved.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("no exit {WAIT:?} after SIGTERM\n{}", self.logs()))
            .expect("wait")
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

fn base_url(lines: &[String]) -> String {
    lines
        .iter()
        .find_map(|l| l.strip_prefix("Base URL: "))
        .unwrap_or_else(|| panic!("no base URL in {lines:?}"))
        .trim()
        .to_string()
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let body = response.text().await.expect("body");
    assert_eq!(got, status, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Creates an action with one Python step of `code` and executes it; returns the execution id.
async fn execute_python(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    name: &str,
    code: &str,
) -> String {
    let action = json!({
        "name": name,
        "steps": [{"stepType": "Python", "settings": json!({"code": code}).to_string()}],
    });
    let created = client
        .post(format!("{base}/action"))
        .bearer_auth(token)
        .json(&action)
        .send()
        .await
        .expect("create action");
    let action_id = json_of(created, 201).await["actionId"]
        .as_str()
        .expect("actionId")
        .to_string();
    let executed = client
        .get(format!("{base}/action/execute/{action_id}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("execute");
    json_of(executed, 200).await["actionExecutionId"]
        .as_str()
        .expect("actionExecutionId")
        .to_string()
}

/// Polls the execution until `done` accepts it.
async fn wait_for(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    execution_id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let detail = client
            .get(format!("{base}/actionexecution/{execution_id}"))
            .bearer_auth(token)
            .send()
            .await
            .expect("get execution");
        let detail = json_of(detail, 200).await;
        if done(&detail) {
            return detail;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not there within {WAIT:?}: {detail}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ended(detail: &Value) -> bool {
    detail["status"] == "Completed" || detail["status"] == "Failed"
}

/// A fresh directory under the system temp dir, for one test's SQLite file and logs.
fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("actuate-standalone-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn first_start_prints_a_key_that_runs_python_and_survives_a_restart() {
    let dir = temp_dir();
    let client = reqwest::Client::new();

    // First start: a key is created and printed, the token alone on the last line.
    let mut first = Standalone::start(&dir, free_port(), 1);
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

    let logs_before = first.logs();
    let status = first.terminate().await;
    assert!(status.success(), "{status}\n{logs_before}");

    // Second start on the same file: no new key, the same project, and the old key works.
    let mut second = Standalone::start(&dir, free_port(), 2);
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

    let status = second.terminate().await;
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_execution_left_running_by_a_killed_process_is_taken_up_at_the_next_start() {
    let dir = temp_dir();
    let client = reqwest::Client::new();
    let mut first = Standalone::start(&dir, free_port(), 1);
    let banner = first.read_until(|l| l.starts_with("act_")).await;
    let token = banner.last().unwrap().clone();
    let base = base_url(&banner);
    let code = "import time\ntime.sleep(1)\nresult = 'done'";
    let id = execute_python(&client, &base, &token, "slow", code).await;
    wait_for(&client, &base, &token, &id, |d| d["status"] == "Running").await;
    first.kill().await;

    // Far sooner than the 30 s lease: the start-up puts it back on the queue at once.
    let mut second = Standalone::start(&dir, free_port(), 2);
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
