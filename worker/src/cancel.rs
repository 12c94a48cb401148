//! Prompt cancellation: the API's cancel commits the execution as Failed and sends a
//! PostgreSQL notification on `actuate_cancel`; this module listens and fires the stop token of
//! the execution if it runs here. A notification missed during a reconnect is caught by the
//! next heartbeat, which finds the execution no longer Running.

use actuate_shared::ids::ExecutionId;
use sqlx::postgres::{PgListener, PgPool};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const CHANNEL: &str = "actuate_cancel";

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

/// Listens until `stop`; reconnects after database outages.
pub async fn listen(pool: PgPool, registry: Cancellations, stop: CancellationToken) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for cancellations; retrying");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    () = stop.cancelled() => return,
                }
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "cannot listen for cancellations; retrying");
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(2)) => continue,
                () = stop.cancelled() => return,
            }
        }
        loop {
            let notification = tokio::select! {
                n = listener.recv() => n,
                () = stop.cancelled() => return,
            };
            match notification {
                Ok(n) => {
                    if let Ok(id) = n.payload().parse::<ExecutionId>()
                        && registry.cancel(id)
                    {
                        tracing::info!(execution_id = %id, "cancel received; stopping");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cancellation listener lost its connection");
                    break;
                }
            }
        }
    }
}
