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
use crate::client::{self, OutputFormat};
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
}

/// Where a client command connects and how it prints, given anywhere after its command's name
/// (`actuate actions --url ... list` or `actuate actions list --url ...`).
#[derive(Debug, clap::Args)]
pub struct ClientOptions {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// How the results are printed.
    #[arg(long, short = 'o', value_enum, default_value = "table", global = true)]
    output: OutputFormat,
}

/// A client command group with its options.
#[derive(Debug, clap::Args)]
pub struct Client<T: clap::Subcommand> {
    #[command(flatten)]
    options: ClientOptions,
    #[command(subcommand)]
    command: T,
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
    Actions(Client<ActionsCommand>),
    /// Execute an action, and with --wait follow it to its end.
    Run {
        #[command(flatten)]
        options: ClientOptions,
        #[command(flatten)]
        args: RunArgs,
    },
    /// List, show, cancel and re-run executions.
    Executions(Client<ExecutionsCommand>),
    /// Raise events.
    Events(Client<EventsCommand>),
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
        client_command => return run_client(client_command).await,
    };
    match server {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("actuate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_client(command: Command) -> ExitCode {
    let outcome = async {
        match command {
            Command::Actions(c) => {
                let client = client::Client::new(c.options.connection, c.options.output)?;
                client::actions::run(&client, c.command)
                    .await
                    .map(|()| ExitCode::SUCCESS)
            }
            Command::Executions(c) => {
                let client = client::Client::new(c.options.connection, c.options.output)?;
                client::executions::run(&client, c.command)
                    .await
                    .map(|()| ExitCode::SUCCESS)
            }
            Command::Events(c) => {
                let client = client::Client::new(c.options.connection, c.options.output)?;
                client::events::run(&client, c.command)
                    .await
                    .map(|()| ExitCode::SUCCESS)
            }
            Command::Run { options, args } => {
                let client = client::Client::new(options.connection, options.output)?;
                client::run::run(&client, args).await
            }
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
