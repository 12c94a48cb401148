//! `actuate`'s client commands: the API of a running Actuate (standalone or distributed) from
//! a terminal or a script. One file per command group (`actions`, `executions`, `run`,
//! `events`); `connection` resolves where to connect, `http` speaks to the API, `output`
//! draws tables for people or prints the API's JSON for scripts (`--output json`).
//!
//! Exit status: 0 done (for `run --wait`: the execution Completed); 1 the API refused the
//! request, or the execution Failed; 2 a usage error, a bad config, or no answer from the API.

pub mod actions;
pub mod connection;
pub mod events;
pub mod executions;
mod http;
mod output;
pub mod run;

use clap::ValueEnum;
use http::Api;
use serde_json::Value;
use std::process::ExitCode;

/// Why a client command did not do its work.
#[derive(Debug)]
pub enum ClientError {
    /// Bad arguments or configuration.
    Usage(String),
    /// The API could not be reached, or did not answer as the API does.
    Connection(String),
    /// The API answered with an error; `message` is the API's own.
    Api { status: u16, message: String },
}

impl ClientError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            ClientError::Api { .. } => ExitCode::from(1),
            ClientError::Usage(_) | ClientError::Connection(_) => ExitCode::from(2),
        }
    }

    fn not_found(message: String) -> Self {
        ClientError::Api {
            status: 404,
            message,
        }
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Usage(m) | ClientError::Connection(m) => f.write_str(m),
            ClientError::Api { status, message } => write!(f, "{message} (HTTP {status})"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Tables and sentences, for people.
    Table,
    /// The API's JSON, for scripts.
    Json,
}

/// What every client command works with.
pub struct Client {
    api: Api,
    output: OutputFormat,
}

impl Client {
    pub fn new(
        connection: connection::ConnectionArgs,
        output: OutputFormat,
    ) -> Result<Self, ClientError> {
        Ok(Self {
            api: Api::new(connection.resolve()?)?,
            output,
        })
    }

    fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }

    /// The id of the action `reference` names: an id as it is, else the action of that name
    /// (names are unique in a project).
    async fn action_id(&self, reference: &str) -> Result<String, ClientError> {
        if uuid::Uuid::parse_str(reference).is_ok() {
            return Ok(reference.to_string());
        }
        actions::all(self)
            .await?
            .iter()
            .find(|a| a["name"].as_str() == Some(reference))
            .and_then(|a| a["actionId"].as_str())
            .map(str::to_string)
            .ok_or_else(|| ClientError::not_found(format!("no action named '{reference}'")))
    }
}

/// `--input`'s JSON.
fn parse_input(input: Option<&str>) -> Result<Option<Value>, ClientError> {
    input
        .map(|text| {
            serde_json::from_str(text)
                .map_err(|e| ClientError::Usage(format!("--input is not valid JSON: {e}")))
        })
        .transpose()
}

/// A JSON file's content (`-`: standard input).
fn read_json_file(path: &std::path::Path) -> Result<Value, ClientError> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| ClientError::Usage(format!("cannot read standard input: {e}")))?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| ClientError::Usage(format!("cannot read {}: {e}", path.display())))?
    };
    serde_json::from_str(&text)
        .map_err(|e| ClientError::Usage(format!("{} is not valid JSON: {e}", path.display())))
}
