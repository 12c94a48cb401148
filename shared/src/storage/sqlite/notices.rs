//! Cancellation notices in one process: `cancel_execution` broadcasts after its commit, and
//! the worker in this process watches.

use super::SqliteStore;
use crate::domain::ids::ExecutionId;
use crate::storage::NoticeStore;
use async_trait::async_trait;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

#[async_trait]
impl NoticeStore for SqliteStore {
    async fn watch_cancellations(
        &self,
        on_cancel: Box<dyn Fn(ExecutionId) + Send + Sync>,
        stop: CancellationToken,
    ) {
        let mut notices = self.cancellations.subscribe();
        loop {
            let notice = tokio::select! {
                n = notices.recv() => n,
                () = stop.cancelled() => return,
            };
            match notice {
                Ok(id) => on_cancel(id),
                // Best effort, as the interface says: a watcher that fell behind misses
                // notices, and its worker finds those executions ended at its next write.
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "cancellation notices dropped; watcher fell behind");
                }
                Err(RecvError::Closed) => return,
            }
        }
    }
}
