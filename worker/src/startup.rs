//! Builds a worker from settings and runs it until SIGTERM (or until a test stops it).
//! [`Worker::with_parts`] takes a store and a broker made elsewhere; [`Worker::embedded`] also
//! leaves the relay and `/healthz` to the process it runs in (standalone mode).
//!
//! Shutdown: stop consuming (prefetched messages go back to the queue), let running executions
//! finish for `ACTUATE_SHUTDOWN_GRACE`, then release the rest so another worker takes them at
//! once, and exit.

use crate::context::WorkerContext;
use crate::settings::WorkerSettings;
use crate::{cancel, consumer, http, maintenance, release, retention};
use actuate_shared::queue::{DynBroker, RabbitBroker};
use actuate_shared::relay::{self, RelayHandle};
use actuate_shared::runtime::{Supervisor, shutdown_signal};
use actuate_shared::storage::{self, DynStore};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub struct Worker {
    ctx: Arc<WorkerContext>,
    host: Host,
}

/// What the worker's process provides besides the worker.
enum Host {
    /// Nothing: the worker runs its own relay and serves `/healthz` and `/metrics` here.
    Own(TcpListener),
    /// A service whose relay publishes the outbox (woken through the context's handle) and
    /// whose HTTP server serves `/healthz` and `/metrics`.
    Embedded,
}

impl Worker {
    pub async fn build(settings: WorkerSettings) -> anyhow::Result<Self> {
        let store = storage::open(&settings.database)?;
        // Workers may start before the API ever ran against this database.
        store.migrate().await?;
        let broker: DynBroker = Arc::new(RabbitBroker::new(settings.queue.clone()));
        Self::with_parts(settings, store, broker).await
    }

    /// On a store (migrated) and a broker made by the caller; `settings.database` and
    /// `settings.queue` are not used.
    pub async fn with_parts(
        settings: WorkerSettings,
        store: DynStore,
        broker: DynBroker,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind)
            .await
            .map_err(|e| anyhow::anyhow!("ACTUATE_WORKER_BIND {}: {e}", settings.bind))?;
        let ctx = WorkerContext::new(store, broker, settings)?;
        Self::ready(ctx, Host::Own(listener)).await
    }

    /// As [`with_parts`](Self::with_parts), inside a process that already runs a relay
    /// publishing this store's outbox to `broker` (woken through `relay`) and an HTTP server
    /// with `/healthz` and `/metrics`: the worker runs neither (`ACTUATE_WORKER_BIND` is not
    /// used).
    pub async fn embedded(
        settings: WorkerSettings,
        store: DynStore,
        broker: DynBroker,
        relay: RelayHandle,
    ) -> anyhow::Result<Self> {
        let ctx = WorkerContext::with_relay(store, broker, settings, relay)?;
        Self::ready(ctx, Host::Embedded).await
    }

    async fn ready(ctx: Arc<WorkerContext>, host: Host) -> anyhow::Result<Self> {
        // Runners that cannot start here (limits too tight, a network policy this kernel does
        // not allow) will not start later either: say so now rather than fail every step.
        ctx.steps.python.pool.warm().await?;
        actuate_shared::telemetry::metrics_handle();
        Ok(Self { ctx, host })
    }

    pub fn context(&self) -> &Arc<WorkerContext> {
        &self.ctx
    }

    /// The port of `/healthz` and `/metrics`; 0 when embedded.
    pub fn http_port(&self) -> u16 {
        match &self.host {
            Host::Own(listener) => listener.local_addr().map(|a| a.port()).unwrap_or(0),
            Host::Embedded => 0,
        }
    }

    /// Runs until `shutdown` fires, then shuts down gracefully.
    pub async fn run(self, shutdown: CancellationToken) {
        let ctx = self.ctx;
        let settings = &ctx.settings;
        tracing::info!(worker_id = %settings.worker_id, concurrency = settings.concurrency, "worker starting");
        // Background tasks outlive the consumer: our relay publishes what shutdown releases.
        // (Embedded, the host's relay may already be stopped: released executions then stay in
        // the outbox, published when the host starts again.)
        let mut background = Supervisor::new();
        let own_relay = matches!(self.host, Host::Own(_));
        if let Host::Own(listener) = self.host {
            background.spawn("relay", |stop| {
                relay::run(
                    ctx.store.clone(),
                    ctx.broker.clone(),
                    ctx.relay.clone(),
                    format!("actuate-worker relay {}", settings.worker_id),
                    stop,
                )
            });
            background.spawn("health server", |stop| async move {
                if let Err(e) = http::serve(listener, stop).await {
                    tracing::error!(error = %e, "health server failed");
                }
            });
        }
        background.spawn("cancellation notices", |stop| {
            cancel::listen(ctx.store.clone(), ctx.cancellations.clone(), stop)
        });
        background.spawn("maintenance", |stop| maintenance::run(ctx.clone(), stop));
        background.spawn("release of delayed executions", |stop| {
            release::run(ctx.clone(), stop)
        });
        background.spawn("retention", |stop| retention::run(ctx.clone(), stop));

        consumer::run(ctx.clone(), shutdown.clone()).await;

        ctx.running.close();
        let running = ctx.running.len();
        if running > 0 {
            tracing::info!(running, grace = ?settings.shutdown_grace, "waiting for running executions");
        }
        if tokio::time::timeout(settings.shutdown_grace, ctx.running.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                running = ctx.running.len(),
                "grace period over; releasing executions"
            );
            ctx.abandon.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(10), ctx.running.wait()).await;
        }
        if own_relay {
            // A last chance for the relay to publish what was released.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        background.shutdown().await;
        tracing::info!("worker stopped");
    }
}

/// Fires on SIGTERM or Ctrl-C.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let fire = token.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        fire.cancel();
    });
    token
}
