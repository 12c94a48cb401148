//! `actuate executions list | get | cancel | rerun`.

use super::output::{self, outln, print_json, print_table, short, text};
use super::{Client, ClientError};
use clap::Subcommand;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Subcommand)]
pub enum ExecutionsCommand {
    /// List executions, newest first (one page; `--cursor` for the next).
    List {
        /// Only this action's (id or name).
        #[arg(long)]
        action: Option<String>,
        /// Only those with this status (Queued, Running, Completed, Failed).
        #[arg(long)]
        status: Option<String>,
        /// Only those started by this trigger (manual, schedule, event).
        #[arg(long)]
        trigger: Option<String>,
        /// Only those created at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Only those created before this time (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// At most this many (1-1000; default 50).
        #[arg(long)]
        limit: Option<u32>,
        /// The page after the one that printed this cursor.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show an execution: its status, notes, input and steps.
    Get { execution: Uuid },
    /// Cancel a Queued or Running execution.
    Cancel { execution: Uuid },
    /// Run an execution's action again with the same input.
    Rerun { execution: Uuid },
}

pub async fn run(client: &Client, command: ExecutionsCommand) -> Result<(), ClientError> {
    match command {
        ExecutionsCommand::List {
            action,
            status,
            trigger,
            since,
            until,
            limit,
            cursor,
        } => {
            let mut query = Vec::new();
            if let Some(action) = action {
                query.push(("actionId", client.action_id(&action).await?));
            }
            let optional = [
                ("status", status),
                ("trigger", trigger),
                ("since", since),
                ("until", until),
                ("limit", limit.map(|l| l.to_string())),
                ("cursor", cursor),
            ];
            query.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
            let page = client.api.get("/actionexecution", &query).await?;
            if client.json() {
                print_json(&page);
                return Ok(());
            }
            let mut table =
                output::table(&["ID", "ACTION", "STATUS", "STARTED", "DURATION", "NOTES"]);
            for e in page["items"].as_array().into_iter().flatten() {
                table.add_row(vec![
                    text(&e["actionExecutionId"]),
                    text(&e["actionId"]),
                    text(&e["status"]),
                    output::date(&e["dateStarted"]),
                    output::duration(&e["dateStarted"], &e["dateEnded"]),
                    short(&e["notes"], 60),
                ]);
            }
            print_table(&table);
            if let Some(next) = page["nextCursor"].as_str() {
                eprintln!("more: --cursor {next}");
            }
        }
        ExecutionsCommand::Get { execution } => {
            let detail = client
                .api
                .get(&format!("/actionexecution/{execution}"), &[])
                .await?;
            if client.json() {
                print_json(&detail);
            } else {
                show(&detail);
            }
        }
        ExecutionsCommand::Cancel { execution } => {
            let ended = client
                .api
                .post(&format!("/actionexecution/{execution}/cancel"), None)
                .await?;
            if client.json() {
                print_json(&ended);
            } else {
                outln!("cancelled execution {execution}");
            }
        }
        ExecutionsCommand::Rerun { execution } => {
            let new = client
                .api
                .post(&format!("/actionexecution/{execution}/rerun"), None)
                .await?;
            if client.json() {
                print_json(&new);
            } else {
                outln!(
                    "queued execution {} (a re-run of {execution})",
                    text(&new["actionExecutionId"])
                );
            }
        }
    }
    Ok(())
}

/// An execution's detail, for people: the execution, then a line per step, then each step's
/// output, log and error when it has them.
pub(super) fn show(detail: &Value) {
    let fields = [
        ("id", text(&detail["actionExecutionId"])),
        (
            "action",
            format!(
                "{} ({})",
                text(&detail["actionName"]),
                text(&detail["actionId"])
            ),
        ),
        ("status", text(&detail["status"])),
        ("trigger", text(&detail["trigger"])),
        ("attempt", text(&detail["attempt"])),
        ("started", output::date(&detail["dateStarted"])),
        ("ended", output::date(&detail["dateEnded"])),
        (
            "duration",
            output::duration(&detail["dateStarted"], &detail["dateEnded"]),
        ),
        ("re-run of", text(&detail["rerunOf"])),
        ("input", short(&detail["input"], 100)),
        ("notes", text(&detail["notes"])),
    ];
    for (label, value) in fields {
        outln!("{label:<11}{value}");
    }
    let steps = detail["steps"].as_array().cloned().unwrap_or_default();
    if steps.is_empty() {
        return;
    }
    outln!();
    let mut table = output::table(&["STEP", "TYPE", "STATUS", "ATTEMPTS", "DURATION", "OUTPUT"]);
    for step in &steps {
        table.add_row(vec![
            text(&step["stepNumber"]),
            text(&step["stepType"]),
            text(&step["status"]),
            text(&step["attempts"]),
            output::duration(&step["dateStarted"], &step["dateEnded"]),
            short(&step["output"], 60),
        ]);
    }
    print_table(&table);
    for step in &steps {
        for (what, key) in [("log", "log"), ("error", "error")] {
            if let Some(body) = step[key].as_str().filter(|s| !s.is_empty()) {
                outln!("\nstep {} {what}:", text(&step["stepNumber"]));
                outln!("{}", body.trim_end());
            }
        }
    }
}
