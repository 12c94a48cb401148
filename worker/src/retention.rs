//! Deletes finished executions past their age (`ACTUATE_RETENTION_DAYS`, or the action's
//! `retentionDays`), with their steps, logs and outputs. Small batches with a pause between
//! them: each is one short statement that skips rows in use, so claims and finishes never
//! wait for it. Every worker runs it; two deleting at once skip each other's rows.

use crate::context::WorkerContext;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Between rounds: retention is counted in days, so a minute late is nothing.
const ROUND: Duration = Duration::from_secs(60);
const BATCH: i64 = 500;
/// Between the batches of a round, so a large backlog is spread out.
const PAUSE: Duration = Duration::from_millis(200);

pub async fn run(ctx: Arc<WorkerContext>, stop: CancellationToken) {
    let days = ctx.settings.retention_days;
    if days == 0 {
        tracing::info!("ACTUATE_RETENTION_DAYS is 0: executions are kept forever");
        return;
    }
    loop {
        round(&ctx, days, &stop).await;
        tokio::select! {
            () = tokio::time::sleep(ROUND) => {},
            () = stop.cancelled() => return,
        }
    }
}

/// Deletes batches until one comes back short (nothing more is due) or a call fails.
async fn round(ctx: &WorkerContext, days: i32, stop: &CancellationToken) {
    loop {
        match ctx.store.delete_expired(days, BATCH).await {
            Ok(deleted) => {
                if deleted > 0 {
                    metrics::counter!("actuate_executions_deleted_total").increment(deleted);
                    tracing::debug!(deleted, "deleted executions past their retention");
                }
                if deleted < BATCH as u64 {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "deleting executions past their retention failed");
                return;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(PAUSE) => {},
            () = stop.cancelled() => return,
        }
    }
}
