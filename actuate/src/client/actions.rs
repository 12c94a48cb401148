//! `actuate actions list | get | create | update | delete | enable | disable`. An action is
//! named by its id or its name.

use super::output::{self, outln, print_json, print_table, short, text};
use super::{Client, ClientError, read_json_file};
use clap::Subcommand;
use serde_json::Value;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ActionsCommand {
    /// List the project's actions.
    List,
    /// Show an action: its settings, steps and triggers.
    Get {
        /// The action's id or name.
        action: String,
    },
    /// Create an action from a JSON file (as the API's POST /action takes it).
    Create {
        /// The file (`-`: standard input).
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
    },
    /// Change an action: the JSON file's fields replace the action's (PUT /action/{id}).
    Update {
        /// The action's id or name.
        action: String,
        /// The file (`-`: standard input).
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
    },
    /// Delete an action (its executions stay).
    Delete {
        /// The action's id or name.
        action: String,
    },
    /// Enable an action: its triggers fire and it can be executed.
    Enable {
        /// The action's id or name.
        action: String,
    },
    /// Disable an action: its triggers stop and executing it is refused.
    Disable {
        /// The action's id or name.
        action: String,
    },
}

pub async fn run(client: &Client, command: ActionsCommand) -> Result<(), ClientError> {
    match command {
        ActionsCommand::List => {
            let actions = all(client).await?;
            if client.json() {
                print_json(&Value::Array(actions));
            } else {
                list(&actions);
            }
        }
        ActionsCommand::Get { action } => {
            let id = client.action_id(&action).await?;
            let action = client.api.get(&format!("/action/{id}"), &[]).await?;
            if client.json() {
                print_json(&action);
            } else {
                show(&action);
            }
        }
        ActionsCommand::Create { file } => {
            let body = read_json_file(&file)?;
            let action = client.api.post("/action", Some(&body)).await?;
            done(client, &action, "created");
        }
        ActionsCommand::Update { action, file } => {
            let body = read_json_file(&file)?;
            let id = client.action_id(&action).await?;
            let action = client.api.put(&format!("/action/{id}"), &body).await?;
            done(client, &action, "updated");
        }
        ActionsCommand::Delete { action } => {
            let id = client.action_id(&action).await?;
            client.api.delete(&format!("/action/{id}")).await?;
            if client.json() {
                print_json(&serde_json::json!({"actionId": id, "deleted": true}));
            } else {
                outln!("deleted action {id}");
            }
        }
        ActionsCommand::Enable { action } => {
            let id = client.action_id(&action).await?;
            let action = client
                .api
                .post(&format!("/action/{id}/enable"), None)
                .await?;
            done(client, &action, "enabled");
        }
        ActionsCommand::Disable { action } => {
            let id = client.action_id(&action).await?;
            let action = client
                .api
                .post(&format!("/action/{id}/disable"), None)
                .await?;
            done(client, &action, "disabled");
        }
    }
    Ok(())
}

/// Every action of the project, following the pages.
pub(super) async fn all(client: &Client) -> Result<Vec<Value>, ClientError> {
    let mut actions = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "1000".to_string())];
        if let Some(c) = cursor.take() {
            query.push(("cursor", c));
        }
        let page = client.api.get("/action", &query).await?;
        if let Some(items) = page["actions"].as_array() {
            actions.extend(items.iter().cloned());
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return Ok(actions),
        }
    }
}

fn done(client: &Client, action: &Value, what: &str) {
    if client.json() {
        print_json(action);
    } else {
        outln!(
            "{what} action {} ({})",
            text(&action["actionId"]),
            text(&action["name"])
        );
    }
}

fn list(actions: &[Value]) {
    let mut table = output::table(&[
        "ID",
        "NAME",
        "ENABLED",
        "NEXT RUN",
        "LAST RUN",
        "LAST RESULT",
    ]);
    for a in actions {
        table.add_row(vec![
            text(&a["actionId"]),
            short(&a["name"], 40),
            text(&a["isEnabled"]),
            output::date(&a["nextRunTime"]),
            output::date(&a["lastRunTime"]),
            text(&a["lastRunResult"]),
        ]);
    }
    print_table(&table);
}

fn show(action: &Value) {
    for (label, key) in [
        ("id", "actionId"),
        ("name", "name"),
        ("description", "description"),
        ("enabled", "isEnabled"),
        ("status", "actionStatus"),
        ("max run time", "maxRunTime"),
        ("max concurrency", "maxConcurrency"),
        ("next run", "nextRunTime"),
        ("last run", "lastRunTime"),
        ("last result", "lastRunResult"),
    ] {
        let value = &action[key];
        let shown = if key.ends_with("Time") && key != "maxRunTime" {
            output::date(value)
        } else {
            text(value)
        };
        outln!("{label:<16}{shown}");
    }
    if let Some(steps) = action["steps"].as_array() {
        outln!();
        let mut table = output::table(&["STEP", "TYPE", "SETTINGS"]);
        for step in steps {
            table.add_row(vec![
                text(&step["stepNumber"]),
                text(&step["stepType"]),
                short(&step["settings"], 80),
            ]);
        }
        print_table(&table);
    }
    if let Some(triggers) = action["triggers"].as_array().filter(|t| !t.is_empty()) {
        outln!();
        let mut table = output::table(&["TRIGGER", "EVENT", "FREQUENCY", "START", "SETTINGS"]);
        for trigger in triggers {
            table.add_row(vec![
                text(&trigger["triggerType"]),
                text(&trigger["eventName"]),
                text(&trigger["frequency"]),
                text(&trigger["startDate"]),
                short(&trigger["settings"], 60),
            ]);
        }
        print_table(&table);
    }
}
