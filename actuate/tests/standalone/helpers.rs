//! Running the real `actuate` binary: `actuate standalone` on a temp dir's SQLite file and a
//! free loopback port, `actuate keys create` on that file, and the API calls the scenarios
//! share.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

pub const WAIT: Duration = Duration::from_secs(60);

/// The SQLite file of a test's directory.
pub fn data_file(dir: &Path) -> PathBuf {
    dir.join("actuate.db")
}

/// `actuate <args>` with the environment a user would give it: nothing but `PATH`, the data
/// file of `dir`, and `extra`.
fn actuate(dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_actuate"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("ACTUATE_DATA", data_file(dir))
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// `actuate keys create` on the data file of `dir` (which it creates and migrates); returns
/// the token, the last line it prints.
pub async fn create_key(dir: &Path, tenant: &str, project: &str) -> String {
    let output = actuate(
        dir,
        &["keys", "create", "--tenant", tenant, "--project", project],
        &[],
    )
    .output()
    .await
    .expect("run actuate keys create");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}: {stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let token = stdout.lines().last().unwrap_or_default().trim().to_string();
    assert!(token.starts_with("act_"), "{stdout}");
    token
}

/// A running `actuate standalone`, its stdout read line by line; stderr goes to a file.
pub struct Standalone {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    log: PathBuf,
}

impl Standalone {
    /// Starts `actuate standalone` on `dir`'s data file, listening on `port`; `run` numbers
    /// its log file; `extra` adds environment variables.
    pub fn start(dir: &Path, port: u16, run: usize, extra: &[(&str, &str)]) -> Self {
        let log = dir.join(format!("stderr-{run}.log"));
        let bind = format!("127.0.0.1:{port}");
        let mut child = actuate(dir, &["standalone"], extra)
            .env("ACTUATE_BIND", bind)
            .env("ACTUATE_SHUTDOWN_GRACE", "5")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn actuate standalone");
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Self { child, stdout, log }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stdout up to and including the first line `last` accepts.
    pub async fn read_until(&mut self, last: impl Fn(&str) -> bool) -> Vec<String> {
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
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill");
    }

    /// SIGTERM, then the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running") as i32;
        // SAFETY: kill(2) on our own child; no memory is involved.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("no exit {WAIT:?} after SIGTERM\n{}", self.logs()))
            .expect("wait")
    }
}

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

pub fn base_url(lines: &[String]) -> String {
    lines
        .iter()
        .find_map(|l| l.strip_prefix("Base URL: "))
        .unwrap_or_else(|| panic!("no base URL in {lines:?}"))
        .trim()
        .to_string()
}

pub async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let body = response.text().await.expect("body");
    assert_eq!(got, status, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Creates an action from `action` (the body of `POST /action`); returns its id.
pub async fn create_action(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    action: &Value,
) -> String {
    let created = client
        .post(format!("{base}/action"))
        .bearer_auth(token)
        .json(action)
        .send()
        .await
        .expect("create action");
    json_of(created, 201).await["actionId"]
        .as_str()
        .expect("actionId")
        .to_string()
}

/// Executes the action; returns the execution id, once the API answered 200.
pub async fn execute(client: &reqwest::Client, base: &str, token: &str, action_id: &str) -> String {
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

/// Creates an action with one Python step of `code` and executes it; returns the execution id.
pub async fn execute_python(
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
    let action_id = create_action(client, base, token, &action).await;
    execute(client, base, token, &action_id).await
}

/// Polls the execution until `done` accepts it.
pub async fn wait_for(
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

pub fn ended(detail: &Value) -> bool {
    detail["status"] == "Completed" || detail["status"] == "Failed"
}

/// A fresh directory under the system temp dir, for one test's SQLite file and logs.
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("actuate-standalone-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
