//! What the handler, the executor and the steps share within one worker process.

use crate::cancel::Cancellations;
use crate::settings::WorkerSettings;
use crate::steps::StepDeps;
use actuate_shared::queue::DynBroker;
use actuate_shared::relay::RelayHandle;
use actuate_shared::runtime::Reachability;
use actuate_shared::storage::DynStore;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub struct WorkerContext {
    pub store: DynStore,
    /// Where executions arrive (and where this worker's relay publishes).
    pub broker: DynBroker,
    pub settings: WorkerSettings,
    pub steps: StepDeps,
    /// One permit per execution this worker may run at once.
    pub slots: Arc<Semaphore>,
    /// Running executions, awaited on shutdown.
    pub running: TaskTracker,
    /// Stop tokens of running executions, fired by cancel notifications.
    pub cancellations: Cancellations,
    /// Fired when the shutdown grace period is over: executions still running are released.
    pub abandon: CancellationToken,
    pub relay: RelayHandle,
    /// When this process last failed to reach the database: the reaper waits a whole lease
    /// of reachability before it takes anyone's claim.
    pub reachability: Reachability,
}

impl WorkerContext {
    pub fn new(
        store: DynStore,
        broker: DynBroker,
        settings: WorkerSettings,
    ) -> anyhow::Result<Arc<Self>> {
        Self::with_relay(store, broker, settings, RelayHandle::default())
    }

    /// With `relay` as the handle that wakes the relay publishing this store's outbox (one
    /// run by the process hosting this worker).
    pub fn with_relay(
        store: DynStore,
        broker: DynBroker,
        settings: WorkerSettings,
        relay: RelayHandle,
    ) -> anyhow::Result<Arc<Self>> {
        let steps = StepDeps::new(&settings, store.clone())?;
        Ok(Arc::new(Self {
            store,
            broker,
            slots: Arc::new(Semaphore::new(settings.concurrency)),
            settings,
            steps,
            running: TaskTracker::new(),
            cancellations: Cancellations::default(),
            abandon: CancellationToken::new(),
            relay,
            reachability: Reachability::new(),
        }))
    }
}
