//! `actuate`'s client commands, the real binary against a real `actuate standalone`: create,
//! list, show, run (waiting, with the exit status of the result), executions, events, enable
//! and disable, delete; connection from the environment and from a config file; and the
//! errors a user meets (bad input, a refused request, no server), each a one-line message with
//! the exit status the README gives, never a backtrace.

use crate::helpers::{Standalone, free_port, temp_dir};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;

/// Where and as whom the client connects.
struct Connection {
    url: String,
    token: String,
    tenant: String,
    project: String,
}

impl Connection {
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ACTUATE_URL", self.url.clone()),
            ("ACTUATE_TOKEN", self.token.clone()),
            ("ACTUATE_TENANT", self.tenant.clone()),
            ("ACTUATE_PROJECT", self.project.clone()),
        ]
    }
}

/// `actuate <args>` with `env` and nothing else a user's shell would not have (no config
/// file: HOME is the test's directory), `RUST_BACKTRACE=1` so that a panic would show.
async fn actuate(dir: &Path, args: &[&str], env: &[(&'static str, String)]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_actuate"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("RUST_BACKTRACE", "1")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run actuate")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Exit status `code`; an error is one `actuate: ...` line, never a panic.
fn expect_status(output: &Output, code: i32) {
    let err = stderr(output);
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {err}",
        stdout(output)
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

fn json_out(output: &Output) -> Value {
    expect_status(output, 0);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

async fn start(dir: &Path) -> (Standalone, Connection) {
    let port = free_port();
    let mut server = Standalone::start(dir, port, 1, &[]);
    let banner = server.read_until(|l| l.starts_with("act_")).await;
    let field = |prefix: &str| {
        banner
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {banner:?}"))
            .trim()
            .to_string()
    };
    let connection = Connection {
        url: format!("http://127.0.0.1:{port}"),
        token: banner.last().unwrap().clone(),
        tenant: field("Tenant:"),
        project: field("Project:"),
    };
    (server, connection)
}

#[tokio::test]
async fn the_client_manages_actions_and_runs_them_to_their_end() {
    let dir = temp_dir();
    let (server, connection) = start(&dir).await;
    let env = connection.env();
    let run = |args: &'static [&'static str]| actuate(&dir, args, &env);

    // Create from a file; the answer names the action.
    let file = dir.join("double.json");
    std::fs::write(
        &file,
        json!({
            "name": "double",
            "steps": [{"stepType": "Python",
                       "settings": {"code": "result = {'twice': context['input']['n'] * 2}"}}],
            "triggers": [{"triggerType": "EventTrigger", "eventName": "numbers.ready"}],
        })
        .to_string(),
    )
    .unwrap();
    let created = actuate(
        &dir,
        &["actions", "create", "-f", file.to_str().unwrap()],
        &env,
    )
    .await;
    expect_status(&created, 0);
    assert!(
        stdout(&created).starts_with("created action "),
        "{}",
        stdout(&created)
    );

    // Listed as a table for people and as the API's JSON for scripts.
    let listed = run(&["actions", "list"]).await;
    expect_status(&listed, 0);
    let table = stdout(&listed);
    assert!(table.lines().next().unwrap().starts_with("ID"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.contains("double") && l.contains("true")),
        "{table}"
    );
    let actions = json_out(&run(&["actions", "list", "--output", "json"]).await);
    let action_id = actions[0]["actionId"].as_str().unwrap().to_string();
    assert_eq!(actions[0]["name"], "double");

    // Shown by name, steps and triggers included.
    let shown = run(&["actions", "get", "double"]).await;
    expect_status(&shown, 0);
    let text = stdout(&shown);
    assert!(
        text.contains(&action_id) && text.contains("Python"),
        "{text}"
    );
    assert!(
        text.contains("EventTrigger") && text.contains("numbers.ready"),
        "{text}"
    );

    // Run and wait: the result, exit status 0.
    let ran = run(&["run", "double", "--input", r#"{"n": 21}"#, "--wait"]).await;
    expect_status(&ran, 0);
    let text = stdout(&ran);
    assert!(text.contains("Completed"), "{text}");
    assert!(text.contains(r#"{"twice":42}"#), "{text}");
    let by_id = [
        "run",
        "-o",
        "json",
        &action_id,
        "--input",
        r#"{"n": 1}"#,
        "--wait",
    ];
    let ran = actuate(&dir, &by_id, &env).await;
    let detail = json_out(&ran);
    assert_eq!(detail["status"], "Completed");
    assert_eq!(detail["steps"][0]["output"], json!({"twice": 2}));
    let execution_id = detail["actionExecutionId"].as_str().unwrap().to_string();

    // Without --wait: queued, its id printed.
    let queued = run(&["run", "double", "--input", r#"{"n": 2}"#]).await;
    expect_status(&queued, 0);
    assert!(
        stdout(&queued).starts_with("queued execution "),
        "{}",
        stdout(&queued)
    );

    // A failing run: exit status 1, the notes on stderr.
    let failed = run(&["run", "double", "--input", r#"{"m": 1}"#, "--wait"]).await;
    expect_status(&failed, 1);
    assert!(stdout(&failed).contains("Failed"), "{}", stdout(&failed));
    assert!(stderr(&failed).contains("KeyError"), "{}", stderr(&failed));

    // Executions: listed for the action, shown, re-run.
    let listed = run(&[
        "executions",
        "list",
        "--action",
        "double",
        "--status",
        "Completed",
    ])
    .await;
    expect_status(&listed, 0);
    assert!(
        stdout(&listed).contains(&execution_id),
        "{}",
        stdout(&listed)
    );
    let page = json_out(&run(&["executions", "-o", "json", "list", "--limit", "1"]).await);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["nextCursor"].is_string(), "{page}");
    let shown = actuate(&dir, &["executions", "get", &execution_id], &env).await;
    expect_status(&shown, 0);
    assert!(stdout(&shown).contains("Completed") && stdout(&shown).contains("Python"));
    let rerun = actuate(&dir, &["executions", "rerun", &execution_id], &env).await;
    expect_status(&rerun, 0);
    assert!(stdout(&rerun).contains(&format!("a re-run of {execution_id}")));

    // Events: one execution per listening action.
    let raised = actuate(
        &dir,
        &["events", "raise", "numbers.ready", "--input", r#"{"n": 5}"#],
        &env,
    )
    .await;
    expect_status(&raised, 0);
    assert!(stdout(&raised).contains(&action_id), "{}", stdout(&raised));

    // Disabled: the API's refusal, as its message, exit status 1.
    expect_status(&run(&["actions", "disable", "double"]).await, 0);
    let refused = run(&["run", "double"]).await;
    expect_status(&refused, 1);
    assert_eq!(
        stderr(&refused).trim(),
        format!("actuate: Action can't create execution (actionId: {action_id}) (HTTP 404)")
    );
    expect_status(&run(&["actions", "enable", "double"]).await, 0);

    // An update from a file, then delete.
    let change = dir.join("change.json");
    std::fs::write(&change, json!({"description": "doubles n"}).to_string()).unwrap();
    let updated = actuate(
        &dir,
        &[
            "actions",
            "update",
            "double",
            "-f",
            change.to_str().unwrap(),
        ],
        &env,
    )
    .await;
    expect_status(&updated, 0);
    let action = json_out(&run(&["actions", "get", "double", "-o", "json"]).await);
    assert_eq!(action["description"], "doubles n");
    expect_status(&run(&["actions", "delete", "double"]).await, 0);
    let gone = run(&["actions", "get", "double"]).await;
    expect_status(&gone, 1);
    assert_eq!(
        stderr(&gone).trim(),
        "actuate: no action named 'double' (HTTP 404)"
    );

    server.terminate().await;
}

#[tokio::test]
async fn a_running_execution_is_cancelled_and_the_config_file_connects() {
    let dir = temp_dir();
    let (server, connection) = start(&dir).await;
    // The connection from the config file alone (mode 600: no warning).
    let config = dir.join("actuate.toml");
    std::fs::write(
        &config,
        format!(
            "url = \"{}\"\ntoken = \"{}\"\ntenant = \"{}\"\nproject = \"{}\"\n",
            connection.url, connection.token, connection.tenant, connection.project
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let env = vec![("ACTUATE_CONFIG", config.display().to_string())];
    let file = dir.join("slow.json");
    std::fs::write(
        &file,
        json!({"name": "slow", "steps": [{"stepType": "Python",
            "settings": {"code": "import time\ntime.sleep(30)\nresult = 1"}}]})
        .to_string(),
    )
    .unwrap();
    let created = actuate(
        &dir,
        &["actions", "create", "-f", file.to_str().unwrap()],
        &env,
    )
    .await;
    expect_status(&created, 0);
    assert!(stderr(&created).is_empty(), "{}", stderr(&created));

    let queued = json_out(&actuate(&dir, &["run", "-o", "json", "slow"], &env).await);
    let id = queued["actionExecutionId"].as_str().unwrap().to_string();
    // Wait until it runs, then cancel it.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let detail =
            json_out(&actuate(&dir, &["executions", "get", &id, "-o", "json"], &env).await);
        if detail["status"] == "Running" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{detail}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let cancelled = actuate(&dir, &["executions", "cancel", &id], &env).await;
    expect_status(&cancelled, 0);
    let detail = json_out(&actuate(&dir, &["executions", "get", &id, "-o", "json"], &env).await);
    assert_eq!(detail["status"], "Failed");
    assert_eq!(detail["notes"], "cancelled");
    // Cancelling again: the API's 409, as its message.
    let again = actuate(&dir, &["executions", "cancel", &id], &env).await;
    expect_status(&again, 1);
    assert!(
        stderr(&again).contains("Execution already finished"),
        "{}",
        stderr(&again)
    );

    // A flag wins over the file: a wrong token is refused.
    let refused = actuate(&dir, &["actions", "list", "--token", "act_wrong"], &env).await;
    expect_status(&refused, 1);
    assert!(
        stderr(&refused).contains("HTTP 401"),
        "{}",
        stderr(&refused)
    );
    server.terminate().await;
}

/// Arguments, environment, and what stderr says.
type Case<'a> = (&'a [&'a str], &'a [(&'static str, String)], &'a str);

#[tokio::test]
async fn usage_and_connection_errors_exit_2_with_one_line() {
    let dir = temp_dir();
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let env = vec![
        ("ACTUATE_URL", nobody.clone()),
        ("ACTUATE_TOKEN", "act_x".to_string()),
        ("ACTUATE_TENANT", uuid::Uuid::new_v4().to_string()),
        ("ACTUATE_PROJECT", uuid::Uuid::new_v4().to_string()),
    ];
    let cases: [Case; 5] = [
        // No server there.
        (&["actions", "list"], &env, "cannot connect"),
        // Bad JSON input.
        (
            &["run", "x", "--input", "{bad"],
            &env,
            "--input is not valid JSON",
        ),
        // No token anywhere.
        (
            &["actions", "list"],
            &env[..1],
            "no token: give --token, ACTUATE_TOKEN",
        ),
        // A file that is not there.
        (
            &["actions", "create", "-f", "/nonexistent/a.json"],
            &env,
            "cannot read /nonexistent/a.json",
        ),
        // Not a subcommand (clap's usage error).
        (&["actions", "frobnicate"], &env, "unrecognized subcommand"),
    ];
    for (args, env, message) in cases {
        let output = actuate(&dir, args, env).await;
        expect_status(&output, 2);
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "{args:?}: {}", stdout(&output));
    }
    // A config file others can read is used, with a warning.
    let config = dir.join("open.toml");
    std::fs::write(&config, format!("url = \"{nobody}\"\ntoken = \"act_x\"\n")).unwrap();
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let output = actuate(
        &dir,
        &["actions", "list", "--config", config.to_str().unwrap()],
        &env[2..],
    )
    .await;
    expect_status(&output, 2);
    assert!(
        stderr(&output).contains("can be read by other users"),
        "{}",
        stderr(&output)
    );
    // Completions for a shell.
    let script = actuate(&dir, &["completions", "bash"], &[]).await;
    expect_status(&script, 0);
    assert!(stdout(&script).contains("actuate"), "{}", stdout(&script));
}
