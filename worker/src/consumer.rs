//! The queue side of the worker: consumes the execution queue (through the `Broker`
//! interface: RabbitMQ, or in-process in standalone mode), hands each delivery to the handler,
//! and settles it. This is the one place that decides acks and nacks. Reconnects after broker
//! outages; deliveries that were in flight come back and are dropped by the claim when they
//! were already taken.

use crate::context::WorkerContext;
use crate::handler::{self, Disposition};
use actuate_shared::queue::{Delivery, QueueError, Settlement};
use actuate_shared::runtime::Backoff;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Consumes until `stop`, reconnecting with backoff.
pub async fn run(ctx: Arc<WorkerContext>, stop: CancellationToken) {
    let mut backoff = Backoff::standard();
    loop {
        match session(&ctx, &stop).await {
            Ok(()) => return,
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, retry_in = ?delay, "broker session ended; reconnecting");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {},
                    () = stop.cancelled() => return,
                }
            }
        }
    }
}

async fn session(ctx: &Arc<WorkerContext>, stop: &CancellationToken) -> Result<(), QueueError> {
    let settings = &ctx.settings;
    let name = format!("actuate-worker {}", settings.worker_id);
    let prefetch = u16::try_from(settings.concurrency).unwrap_or(u16::MAX);
    let mut deliveries = ctx.broker.consume(&name, prefetch).await?;
    let claims = TaskTracker::new();
    let result = loop {
        let delivery = tokio::select! {
            next = deliveries.next() => match next {
                Ok(delivery) => delivery,
                Err(e) => break Err(e),
            },
            () = stop.cancelled() => break Ok(()),
        };
        // Wait for a free slot before claiming: a claimed execution must start at once.
        let permit = tokio::select! {
            permit = ctx.slots.clone().acquire_owned() => permit.expect("semaphore never closed"),
            // Unsettled: it is delivered again once this consumer closes.
            () = stop.cancelled() => break Ok(()),
        };
        // Claims run side by side (one per free slot): a claim is a database round trip, and
        // made one at a time they would cap a worker at one execution per round trip.
        let (ctx, stop) = (ctx.clone(), stop.clone());
        claims.spawn(async move {
            let disposition = handler::handle(
                &ctx,
                &delivery.body,
                delivery.trace_parent.as_deref(),
                permit,
                &stop,
            )
            .await;
            settle(delivery, disposition).await;
        });
    };
    // Claims in progress settle their deliveries before the consumer closes.
    claims.close();
    claims.wait().await;
    // Stop deliveries; prefetched, unsettled ones go back to the queue for other workers.
    deliveries.close().await;
    result
}

async fn settle(delivery: Delivery, disposition: Disposition) {
    let how = match disposition {
        Disposition::Ack => Settlement::Ack,
        Disposition::DeadLetter(reason) => {
            tracing::warn!(%reason, "message dead-lettered");
            Settlement::DeadLetter
        }
        Disposition::Requeue => Settlement::Requeue,
    };
    // After a reconnect an old delivery cannot be settled: the broker redelivers it and the
    // claim drops it as a duplicate.
    match delivery.settle(how).await {
        Ok(true) => {}
        Ok(false) => tracing::info!("delivery from a previous channel not settled; it will return"),
        Err(e) => tracing::warn!(error = %e, "settling a delivery failed; it will return"),
    }
}
