//! `actuate events raise NAME [--input JSON]`: an execution of every enabled action with an
//! event trigger of that name.

use super::output::{self, outln, print_json, print_table, text};
use super::{Client, ClientError, parse_input};
use clap::Subcommand;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What a path segment escapes: all but RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Raise an event: the input JSON becomes each execution's input.
    Raise {
        /// The event's name.
        name: String,
        /// The executions' input (JSON).
        #[arg(long)]
        input: Option<String>,
    },
}

pub async fn run(client: &Client, command: EventsCommand) -> Result<(), ClientError> {
    let EventsCommand::Raise { name, input } = command;
    let input = parse_input(input.as_deref())?;
    let name_in_path = utf8_percent_encode(&name, SEGMENT).to_string();
    let raised = client
        .api
        .post(&format!("/action/event/{name_in_path}"), input.as_ref())
        .await?;
    if client.json() {
        print_json(&raised);
        return Ok(());
    }
    let items = raised["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        outln!("no enabled action listens to event {name}");
        return Ok(());
    }
    let mut table = output::table(&["EXECUTION", "ACTION", "STATUS"]);
    for e in &items {
        table.add_row(vec![
            text(&e["actionExecutionId"]),
            text(&e["actionId"]),
            text(&e["status"]),
        ]);
    }
    print_table(&table);
    Ok(())
}
