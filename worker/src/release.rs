//! Releases held executions when their time comes: a delayed run becomes publishable at its
//! `runAt`. Every worker polls; the store's release is safe to run in many processes at once
//! (each held execution is released and published exactly once), so a lost worker costs no
//! delayed run anything but this tick.

use crate::context::WorkerContext;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the store is asked: a delayed run starts within about this long after its time.
const TICK: Duration = Duration::from_millis(500);
const BATCH: i64 = 500;

pub async fn run(ctx: Arc<WorkerContext>, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(TICK) => {},
            () = stop.cancelled() => return,
        }
        // A full batch may mean more are due: ask again at once.
        loop {
            match ctx.store.release_due(BATCH).await {
                Ok(0) => break,
                Ok(n) => {
                    tracing::debug!(count = n, "released delayed executions");
                    metrics::counter!("actuate_executions_released_total").increment(n);
                    ctx.relay.wake();
                    if n < BATCH as u64 {
                        break;
                    }
                }
                Err(e) => {
                    // Retried at the next tick; the reaper tracks reachability.
                    tracing::warn!(error = %e, "releasing delayed executions failed");
                    break;
                }
            }
        }
    }
}
