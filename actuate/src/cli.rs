//! The command line. Server side: `standalone`, `keys` and `secrets`, with settings from the
//! environment (`ACTUATE_DATA`, `ACTUATE_BIND` (see [`crate::data`]) and the `ACTUATE_*`
//! variables of the API and the worker, as the README's tables describe them). Client side:
//! `actions`, `run`, `executions` and `events` talk to a running API (see [`crate::client`]);
//! `completions` prints a shell's completion script. Command output goes to stdout, logs and
//! errors to stderr.

use crate::client::actions::ActionsCommand;
use crate::client::connection::ConnectionArgs;
use crate::client::events::EventsCommand;
use crate::client::executions::ExecutionsCommand;
use crate::client::run::RunArgs;
use crate::client::{self, Client, OutputFormat};
use actuate_api::cli::{KeysCommand, SecretsCommand};
use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "actuate",
    version,
    about = "Actuate: the Actions API in one process, and a client for any Actuate API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    connection: ConnectionArgs,
    /// How client commands print their results.
    #[arg(long, short = 'o', value_enum, default_value = "table", global = true)]
    output: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API, the scheduler and a worker in this process, on one SQLite file.
    ///
    /// The API listens on ACTUATE_BIND (default 127.0.0.1:8080); the data lives in the SQLite
    /// file ACTUATE_DATA (default ./actuate.db, created when absent). The first start creates
    /// an API key and prints it once. SIGTERM or Ctrl-C stops it gracefully.
    Standalone,
    /// Manage the API keys of the SQLite file ACTUATE_DATA (created when absent).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the encryption of the secrets stored in ACTUATE_DATA.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// List, show, create, change, delete, enable and disable actions.
    #[command(subcommand)]
    Actions(ActionsCommand),
    /// Execute an action, and with --wait follow it to its end.
    Run(RunArgs),
    /// List, show, cancel and re-run executions.
    #[command(subcommand)]
    Executions(ExecutionsCommand),
    /// Raise events.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Print the completion script of a shell (e.g. `actuate completions bash > /etc/bash_completion.d/actuate`).
    Completions { shell: clap_complete::Shell },
}

pub async fn run(cli: Cli) -> ExitCode {
    // Several crates bring rustls with different providers; pick one for the process.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let server = match cli.command {
        Command::Standalone => crate::standalone::run().await,
        Command::Keys(command) => crate::keys::run(command).await,
        Command::Secrets(command) => crate::secrets::run(command).await,
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "actuate", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)
                .or_else(ignore_closed_pipe)
                .map_err(anyhow::Error::from)
        }
        client_command => return run_client(client_command, cli.connection, cli.output).await,
    };
    match server {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("actuate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_client(
    command: Command,
    connection: ConnectionArgs,
    output: OutputFormat,
) -> ExitCode {
    let outcome = async {
        let client = Client::new(connection, output)?;
        match command {
            Command::Actions(c) => client::actions::run(&client, c)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Executions(c) => client::executions::run(&client, c)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Events(c) => client::events::run(&client, c)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Run(args) => client::run::run(&client, args).await,
            _ => unreachable!("server commands are run by `run`"),
        }
    };
    match outcome.await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("actuate: {e}");
            e.exit_code()
        }
    }
}

/// A reader that stopped reading (`| head`) is not an error.
fn ignore_closed_pipe(e: std::io::Error) -> std::io::Result<()> {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe => Ok(()),
        _ => Err(e),
    }
}
