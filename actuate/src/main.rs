//! `actuate`: Actuate in one process. `actuate standalone` runs the API, the scheduler and a
//! worker on one SQLite file with an in-process queue (no PostgreSQL, no RabbitMQ);
//! `actuate keys ...` manages the API keys in that file. `actuate actions | run | executions |
//! events` are a client of any Actuate API (`client/`).
//!
//! The binary is also the worker's Python runner: the worker's pool starts
//! `<this executable> python-runner ...`, so that argument is dispatched before anything else,
//! exactly as `actuate-worker` does.

mod cli;
mod client;
mod data;
mod keys;
mod secrets;
mod standalone;
mod welcome;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("python-runner") {
        return actuate_worker::python::runner::main();
    }
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("actuate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(cli::run(cli))
}
