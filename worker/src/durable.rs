//! Writes that outlast a database outage.
//!
//! A worker's writes after the claim (step results, the end of an execution, heartbeats) are
//! fenced by the claim's attempt, so retrying one is always safe: if the claim was lost
//! meanwhile, the retry matches nothing and says so. What a worker must never do is take a
//! database error for a lost claim: the claim stays ours while the database is down, because
//! reapers hand a claim on only after a whole lease of reachability (see
//! `actuate_shared::runtime::Reachability`). So a write is retried until the database answers,
//! for up to the lease plus `ACTUATE_DB_OUTAGE_GRACE`; past that, or when the shutdown grace
//! is over, the worker gives the execution up and a reaper re-queues it once the database is
//! back.

use crate::context::WorkerContext;
use actuate_shared::domain::ids::ExecutionId;
use actuate_shared::runtime::Backoff;
use actuate_shared::storage::{StoreError, StoreResult};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Why a durable write did not happen.
#[derive(Debug)]
pub enum WriteError {
    /// The database refused the data itself: the same write can never succeed.
    Data(StoreError),
    /// The database stayed unreachable past the grace (or the worker is shutting down).
    GaveUp(StoreError),
}

/// Retries between failures: quick at first, then every second, so a write lands within a
/// second of the database coming back.
pub fn outage_backoff() -> Backoff {
    Backoff::new(Duration::from_millis(100), Duration::from_secs(1))
}

/// How long a worker keeps trying to reach the database for a claim of its own.
pub fn patience(ctx: &WorkerContext) -> Duration {
    ctx.settings.lease + ctx.settings.db_outage_grace
}

/// Runs `write` until it answers, retrying database errors (see the module paragraph).
pub async fn write<T, F, Fut>(
    ctx: &WorkerContext,
    execution_id: ExecutionId,
    what: &'static str,
    mut write: F,
) -> Result<T, WriteError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let mut backoff = outage_backoff();
    let mut failing_since: Option<Instant> = None;
    loop {
        let error = match write().await {
            Ok(value) => {
                if let Some(since) = failing_since {
                    tracing::info!(%execution_id, what, after = ?since.elapsed(), "write landed after the database came back");
                }
                return Ok(value);
            }
            Err(e) if e.is_data_error() => return Err(WriteError::Data(e)),
            Err(e) => e,
        };
        ctx.reachability.failed();
        let since = *failing_since.get_or_insert_with(|| {
            tracing::warn!(%execution_id, what, error = %error, "cannot reach the database; retrying");
            Instant::now()
        });
        if since.elapsed() >= patience(ctx) || ctx.abandon.is_cancelled() {
            tracing::error!(%execution_id, what, error = %error, "database unreachable for too long; leaving the execution to another attempt");
            return Err(WriteError::GaveUp(error));
        }
        tokio::select! {
            () = backoff.wait() => {},
            () = ctx.abandon.cancelled() => {},
        }
    }
}
