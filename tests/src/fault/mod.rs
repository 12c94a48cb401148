//! The fault suite (`target/debug/fault-suite`, see `src/bin/fault-suite.rs`): real API and
//! worker processes against a PostgreSQL cluster and a RabbitMQ node of its own, faults
//! injected under load, and the outcome checked from the database.
//!
//! - [`pg`]: a private PostgreSQL cluster (initdb in a temporary folder, its own port, run as
//!   the `postgres` user when the suite runs as root), stoppable and restartable;
//! - [`rabbit`]: a private RabbitMQ node (own node name, ports, config file and data folder),
//!   stoppable, restartable and freezable;
//! - [`load`]: a steady stream of executes, recording every answer and its latency;
//! - [`audit`]: triggers on the scenario's database that log terminal transitions and step
//!   results with their attempts, and the checks read from them;
//! - [`scenario`]: the faults, one function each; [`report`]: the printed table.

pub mod audit;
pub mod load;
pub mod pg;
pub mod rabbit;
pub mod report;
pub mod scenario;

/// Whether this process runs as root (then the database runs as `postgres`).
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) takes no arguments and cannot fail.
    unsafe { geteuid() == 0 }
}

unsafe extern "C" {
    fn geteuid() -> u32;
}

/// A free TCP port on loopback (bound and released at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs `command`, failing with its output when it fails.
pub fn run(command: &mut std::process::Command) -> anyhow::Result<()> {
    let out = command.output()?;
    anyhow::ensure!(
        out.status.success(),
        "{command:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
