//! The RabbitMQ side of the worker: consumes the execution queue, hands each delivery to the
//! handler, and settles it. This is the one place that decides acks and nacks. Reconnects
//! after broker outages; deliveries that were in flight come back and are dropped by the claim
//! when they were already taken.

use crate::context::WorkerContext;
use crate::handler::{self, Disposition};
use actuate_shared::queue;
use actuate_shared::runtime::Backoff;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions};
use lapin::types::FieldTable;
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

async fn session(ctx: &Arc<WorkerContext>, stop: &CancellationToken) -> Result<(), lapin::Error> {
    let settings = &ctx.settings;
    let name = format!("actuate-worker {}", settings.worker_id);
    let connection = queue::connect(&settings.queue, &name).await?;
    let prefetch = u16::try_from(settings.concurrency).unwrap_or(u16::MAX);
    let channel = queue::consumer_channel(&connection, &settings.queue, prefetch).await?;
    let tag = format!("{}-{}", settings.worker_id, uuid::Uuid::new_v4().simple());
    let mut consumer = channel
        .basic_consume(
            settings.queue.execution_queue().into(),
            tag.clone().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue = %settings.queue.execution_queue(), prefetch, "consuming");
    let claims = TaskTracker::new();
    let result = loop {
        let next = tokio::select! {
            next = consumer.next() => next,
            () = stop.cancelled() => break Ok(()),
        };
        let delivery = match next {
            Some(Ok(delivery)) => delivery,
            Some(Err(e)) => break Err(e),
            None => {
                break Err(lapin::Error::from(
                    lapin::ErrorKind::InvalidConnectionState(lapin::ConnectionState::Closed),
                ));
            }
        };
        // Wait for a free slot before claiming: a claimed execution must start at once.
        let permit = tokio::select! {
            permit = ctx.slots.clone().acquire_owned() => permit.expect("semaphore never closed"),
            // Unsettled: the broker requeues it when the channel closes.
            () = stop.cancelled() => break Ok(()),
        };
        // Claims run side by side (one per free slot): a claim is a database round trip, and
        // made one at a time they would cap a worker at one execution per round trip.
        let (ctx, stop) = (ctx.clone(), stop.clone());
        claims.spawn(async move {
            let disposition = handler::handle(&ctx, &delivery.data, permit, &stop).await;
            settle(&delivery, disposition).await;
        });
    };
    // Claims in progress settle their deliveries on this channel before it closes.
    claims.close();
    claims.wait().await;
    // Stop deliveries; prefetched, unsettled ones go back to the queue for other workers.
    let _ = channel
        .basic_cancel(tag.into(), BasicCancelOptions::default())
        .await;
    let _ = channel.close(200, "worker stopping".into()).await;
    let _ = connection.close(200, "worker stopping".into()).await;
    result
}

async fn settle(delivery: &Delivery, disposition: Disposition) {
    let settled = match disposition {
        Disposition::Ack => delivery.ack(BasicAckOptions::default()).await,
        Disposition::DeadLetter(reason) => {
            tracing::warn!(%reason, "message dead-lettered");
            delivery
                .nack(BasicNackOptions {
                    requeue: false,
                    ..BasicNackOptions::default()
                })
                .await
        }
        Disposition::Requeue => {
            delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await
        }
    };
    // After a reconnect an old delivery cannot be settled: the broker redelivers it and the
    // claim drops it as a duplicate.
    match settled {
        Ok(true) => {}
        Ok(false) => tracing::info!("delivery from a previous channel not settled; it will return"),
        Err(e) => tracing::warn!(error = %e, "settling a delivery failed; it will return"),
    }
}
