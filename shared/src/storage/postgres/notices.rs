//! Cancellation notices over LISTEN/NOTIFY: `cancel_execution` sends one on [`CANCEL_CHANNEL`]
//! in the transaction that commits the cancel, so it is delivered only if the cancel is.

use super::PgStore;
use crate::domain::ids::ExecutionId;
use crate::runtime::Backoff;
use crate::storage::NoticeStore;
use async_trait::async_trait;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

pub(super) const CANCEL_CHANNEL: &str = "actuate_cancel";

#[async_trait]
impl NoticeStore for PgStore {
    async fn watch_cancellations(
        &self,
        on_cancel: Box<dyn Fn(ExecutionId) + Send + Sync>,
        stop: CancellationToken,
    ) {
        let mut backoff = Backoff::standard();
        loop {
            let listening = async {
                let mut listener = PgListener::connect_with(&self.pool).await?;
                listener.listen(CANCEL_CHANNEL).await?;
                Ok::<_, sqlx::Error>(listener)
            };
            let mut listener = tokio::select! {
                listener = listening => match listener {
                    Ok(listener) => listener,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for cancellations; retrying");
                        tokio::select! {
                            () = tokio::time::sleep(backoff.next_delay()) => continue,
                            () = stop.cancelled() => return,
                        }
                    }
                },
                () = stop.cancelled() => return,
            };
            backoff.reset();
            loop {
                let notification = tokio::select! {
                    n = listener.recv() => n,
                    () = stop.cancelled() => return,
                };
                match notification {
                    Ok(n) => match n.payload().parse::<ExecutionId>() {
                        Ok(id) => on_cancel(id),
                        Err(_) => tracing::warn!(payload = n.payload(), "malformed cancel notice"),
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "cancellation listener lost its connection");
                        break;
                    }
                }
            }
        }
    }
}
