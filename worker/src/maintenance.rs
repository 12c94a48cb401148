//! Background duties every worker shares with the others: reaping executions whose worker
//! was lost, and re-publishing Queued executions nobody took. Both are safe to run in many
//! processes at once (`SKIP LOCKED` and conditional updates).
//!
//! A lease that ran out during a database outage says nothing about its worker, so the reaper
//! takes claims only after this process reached the database without a failure for a whole
//! lease, counted from its first answer after the outage (every live worker renews within a
//! second of the database coming back), and the
//! store takes none while the database itself has been up for less than a lease (a restart
//! this process did not notice).

use crate::context::WorkerContext;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const BATCH: i64 = 100;

pub async fn run(ctx: Arc<WorkerContext>, stop: CancellationToken) {
    let settings = &ctx.settings;
    let period = (settings.lease / 2).max(Duration::from_secs(1));
    let stale_period = (settings.requeue_stale_after / 4).max(Duration::from_secs(1));
    let mut last_stale_check = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = tokio::time::sleep(period) => {},
            () = stop.cancelled() => return,
        }
        if ctx.reachability.reachable_for() < settings.lease {
            tracing::debug!("the database was unreachable within a lease; not reaping yet");
            // Ask, so the count starts at the database's first answer after the outage.
            match ctx.store.ping().await {
                Ok(()) => ctx.reachability.reached(),
                Err(_) => ctx.reachability.failed(),
            }
            continue;
        }
        match ctx
            .store
            .reap_expired(settings.max_attempts, settings.lease, BATCH)
            .await
        {
            Ok(report) if report.requeued + report.failed > 0 => {
                tracing::warn!(
                    requeued = report.requeued,
                    failed = report.failed,
                    "reaped executions of lost workers"
                );
                metrics::counter!("actuate_executions_reaped_total", "outcome" => "requeued")
                    .increment(report.requeued);
                metrics::counter!("actuate_executions_reaped_total", "outcome" => "failed")
                    .increment(report.failed);
                ctx.relay.wake();
            }
            Ok(_) => ctx.reachability.reached(),
            Err(e) => {
                ctx.reachability.failed();
                tracing::warn!(error = %e, "reaper failed");
            }
        }
        if last_stale_check.elapsed() >= stale_period {
            last_stale_check = tokio::time::Instant::now();
            match ctx
                .store
                .requeue_stale(settings.requeue_stale_after, BATCH)
                .await
            {
                Ok(0) => {}
                Ok(n) => {
                    tracing::warn!(count = n, "re-published executions left Queued");
                    ctx.relay.wake();
                }
                Err(e) => {
                    ctx.reachability.failed();
                    tracing::warn!(error = %e, "stale check failed");
                }
            }
        }
    }
}
