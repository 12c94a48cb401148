//! `actuate standalone`: the whole service in one process, on one SQLite store and one
//! in-process queue ([`MemoryBroker`]): the API with its relay and scheduler, and a worker
//! with its Python runner pool (separate runner processes, as always), its reaper and its
//! cancellation listener.
//!
//! Start-up: migrate, take up what a previous process left ([`recover`]), bind the API, warm
//! the runners, print how to reach the API ([`crate::welcome`]), then consume. Shutdown (one
//! SIGTERM or Ctrl-C): the HTTP server stops (and with it the relay and the scheduler), then
//! the worker lets running executions finish for `ACTUATE_SHUTDOWN_GRACE` and releases the
//! rest, and the process exits 0.

use crate::data::StandaloneEnv;
use actuate_api::settings::ApiSettings;
use actuate_api::startup::Application;
use actuate_shared::queue::{DynBroker, MemoryBroker};
use actuate_shared::runtime::Supervisor;
use actuate_shared::storage::{self, Store};
use actuate_shared::telemetry;
use actuate_worker::settings::WorkerSettings;
use actuate_worker::startup::Worker;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub async fn run() -> anyhow::Result<()> {
    let source = StandaloneEnv::from_env()?.with_secrets_key()?;
    let api_settings = ApiSettings::from_source(&source)?;
    let worker_settings = WorkerSettings::from_source(&source)?;
    let _telemetry = telemetry::init(api_settings.log_format, "actuate")?;
    tracing::info!(database = source.database_url(), "standalone mode starting");

    let store = storage::open(&api_settings.database)?;
    store.migrate().await?;
    recover(&*store).await?;

    let broker: DynBroker = Arc::new(MemoryBroker::new());
    let bind = api_settings.bind;
    let app = Application::with_parts(api_settings, store.clone(), broker.clone()).await?;
    // One relay for the process: the API's. The API's handlers wake it right after each
    // execute commits, and the worker wakes it through the same handle (releases, reaps). It
    // stops with the HTTP server, before the worker winds down: the in-memory queue dies with
    // the process, so what the worker releases during shutdown is better left in the outbox
    // (in the file), to be published by the next start, than published into a queue about to
    // vanish. A second relay would only contend for the same outbox rows.
    let worker = Worker::embedded(worker_settings, store.clone(), broker, app.relay()).await?;

    crate::welcome::greet(&*store, reachable(bind, app.port())).await?;

    let mut tasks = Supervisor::new();
    tasks.spawn("worker", |stop| worker.run(stop));
    // Returns on SIGTERM or Ctrl-C, once the HTTP server, the relay and the scheduler stopped.
    let served = app.run_until_stopped().await;
    tasks.shutdown().await;
    served?;
    tracing::info!("standalone mode stopped");
    Ok(())
}

/// This process is the only worker and relay of the store, and the queue starts empty: every
/// Running execution was left by a process that is gone (put back on the queue now rather than
/// after its lease; the next claim counts an attempt), outbox rows that process had leased are
/// free at once (not after the lease), and Queued executions whose message was in the previous
/// process's queue are published again.
async fn recover(store: &dyn Store) -> anyhow::Result<()> {
    let leased = store.release_outbox_leases().await?;
    tracing::info!(
        rows = leased,
        "outbox leases of an earlier process released"
    );
    let running = store.requeue_running().await?;
    tracing::info!(
        executions = running,
        "Running executions of an earlier process requeued"
    );
    const BATCH: i64 = 1000;
    let mut queued = 0;
    loop {
        let n = store.requeue_stale(Duration::ZERO, BATCH).await?;
        queued += n;
        if n < BATCH as u64 {
            break;
        }
    }
    tracing::info!(
        executions = queued,
        "Queued executions of an earlier process published again"
    );
    Ok(())
}

/// The address to show: the bound port, and loopback when listening on every interface.
fn reachable(bind: SocketAddr, port: u16) -> SocketAddr {
    let ip = match bind.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    SocketAddr::new(ip, port)
}

#[cfg(test)]
mod tests {
    use super::reachable;

    #[test]
    fn every_interface_is_shown_as_loopback() {
        let shown = |bind: &str, port| reachable(bind.parse().unwrap(), port).to_string();
        assert_eq!(shown("0.0.0.0:0", 4321), "127.0.0.1:4321");
        assert_eq!(shown("[::]:8080", 8080), "[::1]:8080");
        assert_eq!(shown("10.1.2.3:8080", 8080), "10.1.2.3:8080");
    }
}
