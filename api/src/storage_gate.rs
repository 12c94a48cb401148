//! A fast "storage unavailable" while the database is unreachable.
//!
//! Without it, every request during an outage would wait for the pool's acquire timeout and
//! then fail, and clients with short timeouts would see timeouts instead of an answer. The
//! first request that finds the database unreachable closes the gate (its response carries a
//! [`StorageDown`] mark, see `error.rs`); while closed, requests under `/api/` are answered 503
//! with `Retry-After` at once, and one prober task pings the database every
//! [`PROBE_EVERY`] until it answers, which opens the gate again. Health, metrics and the API
//! document are never gated: `/readyz` does its own ping and says what it found.

use crate::error::ApiError;
use actuate_shared::storage::DynStore;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const PROBE_EVERY: Duration = Duration::from_millis(250);

/// Set on a response when the request failed because storage could not be reached.
#[derive(Clone, Copy, Debug)]
pub struct StorageDown;

#[derive(Default)]
pub struct StorageGate {
    closed: AtomicBool,
    closed_now: Notify,
}

impl StorageGate {
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    fn close(&self) {
        if !self.closed.swap(true, Ordering::Relaxed) {
            tracing::warn!("storage unreachable: answering 503 until it is back");
            metrics::counter!("actuate_storage_outages_total").increment(1);
            self.closed_now.notify_one();
        }
    }

    fn open(&self) {
        if self.closed.swap(false, Ordering::Relaxed) {
            tracing::info!("storage reachable again");
        }
    }

    /// While closed, pings `store` until it answers, then opens; until `stop`.
    pub async fn probe(self: Arc<Self>, store: DynStore, stop: CancellationToken) {
        loop {
            if !self.is_closed() {
                tokio::select! {
                    () = self.closed_now.notified() => {},
                    () = stop.cancelled() => return,
                }
            }
            while self.is_closed() {
                tokio::select! {
                    () = tokio::time::sleep(PROBE_EVERY) => {},
                    () = stop.cancelled() => return,
                }
                if store.ping().await.is_ok() {
                    self.open();
                }
            }
        }
    }
}

/// The middleware: answers at once while the gate is closed, and closes it when a response
/// says storage was unreachable.
pub async fn gate(State(gate): State<Arc<StorageGate>>, request: Request, next: Next) -> Response {
    let gated = request
        .uri()
        .path()
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("/api/"));
    if gated && gate.is_closed() {
        return ApiError::StorageUnavailable(anyhow::anyhow!("the storage gate is closed"))
            .into_response();
    }
    let response = next.run(request).await;
    if response.extensions().get::<StorageDown>().is_some() {
        gate.close();
    }
    response
}
