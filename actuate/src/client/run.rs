//! `actuate run ACTION [--input JSON] [--wait]`: executes an action; with `--wait`, follows
//! the execution until it ends, a spinner on stderr naming the current step and the time
//! elapsed, then shows it. Exit status 0 when it Completed, 1 when it Failed (its notes on
//! stderr).

use super::output::{self, outln, print_json, text};
use super::{Client, ClientError, parse_input};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How often a waiting `run` reads the execution.
const POLL: Duration = Duration::from_millis(500);

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The action's id or name.
    action: String,
    /// The execution's input (JSON).
    #[arg(long)]
    input: Option<String>,
    /// Wait until the execution ends; exit 0 if it Completed, 1 if it Failed.
    #[arg(long)]
    wait: bool,
    /// With --wait: give up waiting after this many seconds (exit 2; the execution goes on).
    #[arg(long, requires = "wait")]
    timeout: Option<u64>,
}

pub async fn run(client: &Client, args: RunArgs) -> Result<ExitCode, ClientError> {
    let input = parse_input(args.input.as_deref())?;
    let id = client.action_id(&args.action).await?;
    let body = input.map(|input| json!({ "input": input }));
    let queued = client
        .api
        .post(&format!("/action/execute/{id}"), body.as_ref())
        .await?;
    let execution_id = text(&queued["actionExecutionId"]);
    if !args.wait {
        if client.json() {
            print_json(&queued);
        } else {
            outln!("queued execution {execution_id}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let detail = wait(client, &execution_id, args.timeout.map(Duration::from_secs)).await?;
    if client.json() {
        print_json(&detail);
    } else {
        super::executions::show(&detail);
    }
    Ok(match detail["status"].as_str() {
        Some("Completed") => ExitCode::SUCCESS,
        _ => {
            eprintln!(
                "actuate: execution {execution_id} failed: {}",
                text(&detail["notes"])
            );
            ExitCode::from(1)
        }
    })
}

/// Reads the execution until it has ended, showing progress on stderr.
async fn wait(
    client: &Client,
    execution_id: &str,
    timeout: Option<Duration>,
) -> Result<Value, ClientError> {
    let started = Instant::now();
    // Drawn only when stderr is a terminal; scripts see nothing of it.
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg}").expect("a valid spinner template"),
    );
    spinner.enable_steady_tick(Duration::from_millis(100));
    let path = format!("/actionexecution/{execution_id}");
    loop {
        let detail = client.api.get(&path, &[]).await?;
        let status = detail["status"].as_str().unwrap_or_default();
        if matches!(status, "Completed" | "Failed") {
            spinner.finish_and_clear();
            return Ok(detail);
        }
        spinner.set_message(progress(&detail, started.elapsed()));
        if let Some(limit) = timeout
            && started.elapsed() >= limit
        {
            spinner.finish_and_clear();
            return Err(ClientError::Connection(format!(
                "execution {execution_id} is still {status} after {} s; it goes on (see `actuate executions get {execution_id}`)",
                limit.as_secs()
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `Running step 2/3 (Webhook) · 4.2s`, or `Queued · 0.5s`.
fn progress(detail: &Value, elapsed: Duration) -> String {
    let status = text(&detail["status"]);
    let steps = detail["steps"].as_array().cloned().unwrap_or_default();
    let current = steps
        .iter()
        .find(|s| s["status"].as_str() == Some("Running"));
    match current {
        Some(step) if status == "Running" => format!(
            "Running step {}/{} ({}) · {}",
            text(&step["stepNumber"]),
            steps.len(),
            text(&step["stepType"]),
            output::elapsed(elapsed)
        ),
        _ => format!("{status} · {}", output::elapsed(elapsed)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_names_the_running_step() {
        let detail = json!({"status": "Running", "steps": [
            {"stepNumber": 1, "stepType": "Python", "status": "Completed"},
            {"stepNumber": 2, "stepType": "Webhook", "status": "Running"},
            {"stepNumber": 3, "stepType": "Email", "status": "Pending"},
        ]});
        assert_eq!(
            progress(&detail, Duration::from_millis(4200)),
            "Running step 2/3 (Webhook) · 4.2s"
        );
        let queued = json!({"status": "Queued", "steps": []});
        assert_eq!(
            progress(&queued, Duration::from_millis(500)),
            "Queued · 0.5s"
        );
    }
}
