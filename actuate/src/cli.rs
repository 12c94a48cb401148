//! The command line: `standalone`, `keys` and `secrets`. Settings come from the environment:
//! `ACTUATE_DATA` and `ACTUATE_BIND` (see [`crate::data`]) and the `ACTUATE_*` variables of the
//! API and the worker, as the README's tables describe them. Command output goes to stdout,
//! logs to stderr.

use actuate_api::cli::{KeysCommand, SecretsCommand};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "actuate",
    version,
    about = "Actuate in one process: the Actions API and a worker on one SQLite file"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
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
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // Several crates bring rustls with different providers; pick one for the process.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    match cli.command {
        Command::Standalone => crate::standalone::run().await,
        Command::Keys(command) => crate::keys::run(command).await,
        Command::Secrets(command) => crate::secrets::run(command).await,
    }
}
