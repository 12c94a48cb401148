//! Prompt cancellation: the API's cancel commits the execution as Failed and the store sends a
//! notice (`NoticeStore`); this module fires the stop token of the execution if it runs here.
//! A notice missed during a reconnect is caught by the next heartbeat, which finds the
//! execution no longer Running.

use actuate_shared::domain::ids::ExecutionId;
use actuate_shared::storage::DynStore;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

#[derive(Clone, Default)]
pub struct Cancellations {
    tokens: Arc<Mutex<HashMap<ExecutionId, CancellationToken>>>,
}

/// Removes its execution from the registry when the execution ends.
pub struct Registration {
    id: ExecutionId,
    registry: Cancellations,
    pub token: CancellationToken,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry
            .tokens
            .lock()
            .expect("cancel registry poisoned")
            .remove(&self.id);
    }
}

impl Cancellations {
    pub fn register(&self, id: ExecutionId) -> Registration {
        let token = CancellationToken::new();
        self.tokens
            .lock()
            .expect("cancel registry poisoned")
            .insert(id, token.clone());
        Registration {
            id,
            registry: self.clone(),
            token,
        }
    }

    pub fn cancel(&self, id: ExecutionId) -> bool {
        match self
            .tokens
            .lock()
            .expect("cancel registry poisoned")
            .get(&id)
        {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}

/// Stops the executions cancelled anywhere that run here, until `stop`.
pub async fn listen(store: DynStore, registry: Cancellations, stop: CancellationToken) {
    let on_cancel = Box::new(move |id: ExecutionId| {
        if registry.cancel(id) {
            tracing::info!(execution_id = %id, "cancel received; stopping");
        }
    });
    store.watch_cancellations(on_cancel, stop).await;
}
