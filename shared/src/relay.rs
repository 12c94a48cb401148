//! The outbox relay: moves committed execute requests from the store's outbox to the queue.
//!
//! Runs in every API process (and every worker, for the rows reapers write). Each round leases
//! a batch (`SKIP LOCKED`, so replicas share the work), publishes it with confirms, and deletes
//! what the broker accepted; the rest is retried with backoff. A relay that dies after
//! publishing but before deleting leaves rows that are published again: workers drop such
//! duplicates when their claim finds the execution no longer Queued.

use crate::queue::{self, DynBroker, Publish};
use crate::runtime::Backoff;
use crate::storage::DynStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const BATCH: i64 = 256;
const LEASE: Duration = Duration::from_secs(30);
/// How often the outbox is looked at without a wake-up (rows of other processes, retries).
const POLL: Duration = Duration::from_millis(500);
const RETRY: Duration = Duration::from_secs(2);

/// Wakes the relay of this process right after a commit that added outbox rows.
#[derive(Clone, Default)]
pub struct RelayHandle {
    wake: Arc<Notify>,
    broker_up: Arc<AtomicBool>,
}

impl RelayHandle {
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Whether the last publish attempt reached the broker.
    pub fn broker_up(&self) -> bool {
        self.broker_up.load(Ordering::Relaxed)
    }
}

pub async fn run(
    store: DynStore,
    broker: DynBroker,
    handle: RelayHandle,
    name: String,
    stop: CancellationToken,
) {
    let mut publisher: Option<Box<dyn Publish>> = None;
    let mut backoff = Backoff::standard();
    loop {
        if stop.is_cancelled() {
            break;
        }
        if publisher.as_ref().is_none_or(|p| !p.is_usable()) {
            publisher = match broker.publisher(&name).await {
                Ok(p) => {
                    tracing::info!("relay connected to the broker");
                    handle.broker_up.store(true, Ordering::Relaxed);
                    backoff.reset();
                    Some(p)
                }
                Err(e) => {
                    handle.broker_up.store(false, Ordering::Relaxed);
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in = ?delay, "relay cannot reach the broker");
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {},
                        () = stop.cancelled() => break,
                    }
                    continue;
                }
            };
        }
        let p = publisher.as_deref().expect("connected above");
        match round(&store, p).await {
            Ok(n) if n as i64 == BATCH => continue,
            Ok(_) => {}
            Err(RoundError::Broker(e)) => {
                tracing::warn!(error = %e, "publishing failed; reconnecting");
                handle.broker_up.store(false, Ordering::Relaxed);
                if let Some(broken) = publisher.take() {
                    broken.close().await;
                }
                continue;
            }
            Err(RoundError::Store(e)) => {
                tracing::warn!(error = %e, "relay cannot read the outbox");
                tokio::select! {
                    () = tokio::time::sleep(RETRY) => {},
                    () = stop.cancelled() => break,
                }
            }
        }
        tokio::select! {
            () = handle.wake.notified() => {},
            () = tokio::time::sleep(POLL) => {},
            () = stop.cancelled() => break,
        }
    }
    if let Some(publisher) = publisher {
        publisher.close().await;
    }
}

enum RoundError {
    Store(crate::storage::StoreError),
    Broker(queue::QueueError),
}

/// One batch: returns how many rows were leased.
async fn round(store: &DynStore, publisher: &dyn Publish) -> Result<usize, RoundError> {
    let items = store
        .lease_outbox(BATCH, LEASE)
        .await
        .map_err(RoundError::Store)?;
    if items.is_empty() {
        return Ok(0);
    }
    let messages: Vec<_> = items.iter().map(|i| i.message.clone()).collect();
    let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
    let results = match publisher.publish_all(&messages).await {
        Ok(results) => results,
        Err(e) => {
            let _ = store
                .fail_outbox(&ids, &e.to_string(), Duration::ZERO)
                .await;
            return Err(RoundError::Broker(e));
        }
    };
    let mut sent = Vec::new();
    let mut failed = Vec::new();
    let mut last_error = String::new();
    for (id, result) in ids.iter().zip(results) {
        match result {
            Ok(()) => sent.push(*id),
            Err(e) => {
                last_error = e.to_string();
                failed.push(*id);
            }
        }
    }
    if !sent.is_empty() {
        store
            .complete_outbox(&sent)
            .await
            .map_err(RoundError::Store)?;
        metrics::counter!("actuate_outbox_published_total").increment(sent.len() as u64);
    }
    if !failed.is_empty() {
        tracing::warn!(count = failed.len(), error = %last_error, "broker refused messages; will retry");
        store
            .fail_outbox(&failed, &last_error, RETRY)
            .await
            .map_err(RoundError::Store)?;
    }
    Ok(items.len())
}
