//! Builds a worker from settings and runs it until SIGTERM (or until a test stops it).
//!
//! Shutdown: stop consuming (prefetched messages go back to the queue), let running executions
//! finish for `ACTUATE_SHUTDOWN_GRACE`, then release the rest so another worker takes them at
//! once, and exit.

use crate::context::WorkerContext;
use crate::settings::WorkerSettings;
use crate::{cancel, consumer, http, maintenance};
use actuate_shared::queue::RabbitBroker;
use actuate_shared::relay;
use actuate_shared::runtime::{Supervisor, shutdown_signal};
use actuate_shared::storage;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub struct Worker {
    ctx: Arc<WorkerContext>,
    listener: TcpListener,
}

impl Worker {
    pub async fn build(settings: WorkerSettings) -> anyhow::Result<Self> {
        let store = storage::open(&settings.database)?;
        // Workers may start before the API ever ran against this database.
        store.migrate().await?;
        let listener = TcpListener::bind(settings.bind)
            .await
            .map_err(|e| anyhow::anyhow!("ACTUATE_WORKER_BIND {}: {e}", settings.bind))?;
        let broker = Arc::new(RabbitBroker::new(settings.queue.clone()));
        let ctx = WorkerContext::new(store, broker, settings)?;
        // Runners that cannot start here (limits too tight, a network policy this kernel does
        // not allow) will not start later either: say so now rather than fail every step.
        ctx.steps.python.pool.warm().await?;
        actuate_shared::telemetry::metrics_handle();
        Ok(Self { ctx, listener })
    }

    pub fn context(&self) -> &Arc<WorkerContext> {
        &self.ctx
    }

    pub fn http_port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Runs until `shutdown` fires, then shuts down gracefully.
    pub async fn run(self, shutdown: CancellationToken) {
        let ctx = self.ctx;
        let settings = &ctx.settings;
        tracing::info!(worker_id = %settings.worker_id, concurrency = settings.concurrency, "worker starting");
        // Background tasks outlive the consumer: the relay publishes what shutdown releases.
        let mut background = Supervisor::new();
        background.spawn("relay", |stop| {
            relay::run(
                ctx.store.clone(),
                ctx.broker.clone(),
                ctx.relay.clone(),
                format!("actuate-worker relay {}", settings.worker_id),
                stop,
            )
        });
        background.spawn("cancellation notices", |stop| {
            cancel::listen(ctx.store.clone(), ctx.cancellations.clone(), stop)
        });
        background.spawn("maintenance", |stop| maintenance::run(ctx.clone(), stop));
        let listener = self.listener;
        background.spawn("health server", |stop| async move {
            if let Err(e) = http::serve(listener, stop).await {
                tracing::error!(error = %e, "health server failed");
            }
        });

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
        // A last chance for the relay to publish what was released.
        tokio::time::sleep(Duration::from_millis(200)).await;
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
