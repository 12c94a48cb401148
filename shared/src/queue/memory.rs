//! The in-process queue of standalone mode: the relay and the worker share one process, so a
//! queue is a list behind a lock and a wake-up.
//!
//! It keeps the contract of the module (confirmed publishes, single settlement, redelivery of
//! what was never settled, prefetch, the delivery limit), so the relay and the consumer run
//! unchanged on it. It is not durable: a message published here is gone if the process dies,
//! and so is the outbox row it came from. The store's Queued executions are the record; the
//! process that owns this queue publishes them again when it starts.

use super::{
    Broker, DELIVERY_LIMIT, Deliveries, Delivery, Publish, QueueError, Settle, Settlement,
};
use crate::message::ExecuteMessage;
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

#[derive(Clone, Default)]
pub struct MemoryBroker {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    /// One permit per message made ready; a consumer that finds none waits here.
    ready: Notify,
}

#[derive(Default)]
struct State {
    ready: VecDeque<Message>,
    dead: Vec<Message>,
}

struct Message {
    body: Vec<u8>,
    /// The `traceparent` header.
    trace_parent: Option<String>,
    /// Deliveries that ended without an ack.
    returns: i64,
}

impl MemoryBroker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Messages waiting to be delivered.
    pub fn ready_len(&self) -> usize {
        self.inner.lock().ready.len()
    }

    /// The bodies of dead-lettered messages, oldest first.
    pub fn dead_letters(&self) -> Vec<Vec<u8>> {
        self.inner
            .lock()
            .dead
            .iter()
            .map(|m| m.body.clone())
            .collect()
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("memory queue poisoned")
    }

    fn push(&self, message: Message, front: bool) {
        let mut state = self.lock();
        if front {
            state.ready.push_front(message);
        } else {
            state.ready.push_back(message);
        }
        drop(state);
        self.ready.notify_one();
    }

    /// A delivery that ended without an ack: delivered again, or dead-lettered at the limit.
    fn give_back(&self, mut message: Message) {
        message.returns += 1;
        if message.returns >= DELIVERY_LIMIT {
            tracing::warn!(returns = message.returns, "message dead-lettered");
            self.lock().dead.push(message);
        } else {
            self.push(message, true);
        }
    }

    async fn take(&self) -> Message {
        loop {
            if let Some(message) = self.lock().ready.pop_front() {
                return message;
            }
            self.ready.notified().await;
        }
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    async fn publisher(&self, _name: &str) -> Result<Box<dyn Publish>, QueueError> {
        Ok(Box::new(self.clone()))
    }

    async fn consume(&self, _name: &str, prefetch: u16) -> Result<Box<dyn Deliveries>, QueueError> {
        Ok(Box::new(MemoryDeliveries {
            inner: self.inner.clone(),
            unsettled: Arc::new(Semaphore::new(usize::from(prefetch.max(1)))),
        }))
    }
}

#[async_trait]
impl Publish for MemoryBroker {
    fn is_usable(&self) -> bool {
        true
    }

    async fn publish_all(
        &self,
        messages: &[ExecuteMessage],
    ) -> Result<Vec<Result<(), QueueError>>, QueueError> {
        for message in messages {
            let body = message.to_bytes();
            let trace_parent = message.trace_parent.clone();
            self.inner.push(
                Message {
                    body,
                    trace_parent,
                    returns: 0,
                },
                false,
            );
        }
        Ok(messages.iter().map(|_| Ok(())).collect())
    }

    async fn close(self: Box<Self>) {}
}

struct MemoryDeliveries {
    inner: Arc<Inner>,
    /// One permit per unsettled delivery: the prefetch bound.
    unsettled: Arc<Semaphore>,
}

#[async_trait]
impl Deliveries for MemoryDeliveries {
    async fn next(&mut self) -> Result<Delivery, QueueError> {
        let permit = self
            .unsettled
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| QueueError::Closed)?;
        let message = self.inner.take().await;
        let body = message.body.clone();
        let trace_parent = message.trace_parent.clone();
        Ok(Delivery::new(
            body,
            trace_parent,
            Box::new(MemoryDelivery {
                inner: self.inner.clone(),
                message: Some(message),
                _permit: permit,
            }),
        ))
    }

    async fn close(self: Box<Self>) {
        self.unsettled.close();
    }
}

struct MemoryDelivery {
    inner: Arc<Inner>,
    /// `None` once settled.
    message: Option<Message>,
    _permit: OwnedSemaphorePermit,
}

#[async_trait]
impl Settle for MemoryDelivery {
    async fn settle(mut self: Box<Self>, how: Settlement) -> Result<bool, QueueError> {
        let message = self.message.take().expect("settled once");
        match how {
            Settlement::Ack => {}
            Settlement::Requeue => self.inner.give_back(message),
            Settlement::DeadLetter => self.inner.lock().dead.push(message),
        }
        Ok(true)
    }
}

impl Drop for MemoryDelivery {
    /// Never settled (its task ended or panicked): delivered again, as a broker would.
    fn drop(&mut self) {
        if let Some(message) = self.message.take() {
            self.inner.give_back(message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{ExecutionId, ProjectId, TenantId};
    use std::time::Duration;

    fn message() -> ExecuteMessage {
        ExecuteMessage {
            tenant_id: TenantId::new(),
            project_id: ProjectId::new(),
            execution_id: ExecutionId::new(),
            next_step_type: None,
            trace_parent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
        }
    }

    async fn next(deliveries: &mut Box<dyn Deliveries>) -> Delivery {
        tokio::time::timeout(Duration::from_secs(5), deliveries.next())
            .await
            .expect("a delivery")
            .expect("open")
    }

    #[tokio::test]
    async fn published_messages_are_delivered_in_order_and_acked_once() {
        let broker = MemoryBroker::new();
        let publisher = broker.publisher("test").await.unwrap();
        let sent = [message(), message()];
        let results = publisher.publish_all(&sent).await.unwrap();
        assert!(results.iter().all(Result::is_ok));
        let mut deliveries = broker.consume("test", 8).await.unwrap();
        for expected in &sent {
            let delivery = next(&mut deliveries).await;
            assert_eq!(delivery.body, expected.to_bytes());
            assert_eq!(
                delivery.trace_parent, expected.trace_parent,
                "the header travels"
            );
            assert!(delivery.settle(Settlement::Ack).await.unwrap());
        }
        assert_eq!(broker.ready_len(), 0);
    }

    #[tokio::test]
    async fn a_consumer_waits_for_a_later_publish() {
        let broker = MemoryBroker::new();
        let mut deliveries = broker.consume("test", 1).await.unwrap();
        let publisher = broker.publisher("test").await.unwrap();
        let later = message();
        let body = later.to_bytes();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            publisher.publish_all(&[later]).await.unwrap();
        });
        assert_eq!(next(&mut deliveries).await.body, body);
    }

    #[tokio::test]
    async fn an_unsettled_delivery_comes_back_and_the_limit_dead_letters_it() {
        let broker = MemoryBroker::new();
        let publisher = broker.publisher("test").await.unwrap();
        publisher.publish_all(&[message()]).await.unwrap();
        let mut deliveries = broker.consume("test", 1).await.unwrap();
        // Dropped (a task that died) then requeued: both count as returns.
        drop(next(&mut deliveries).await);
        let delivery = next(&mut deliveries).await;
        delivery.settle(Settlement::Requeue).await.unwrap();
        for _ in 2..DELIVERY_LIMIT {
            drop(next(&mut deliveries).await);
        }
        assert_eq!(broker.ready_len(), 0);
        assert_eq!(broker.dead_letters().len(), 1);
    }

    #[tokio::test]
    async fn prefetch_bounds_the_unsettled_deliveries() {
        let broker = MemoryBroker::new();
        let publisher = broker.publisher("test").await.unwrap();
        publisher
            .publish_all(&[message(), message(), message()])
            .await
            .unwrap();
        let mut deliveries = broker.consume("test", 2).await.unwrap();
        let first = next(&mut deliveries).await;
        let _second = next(&mut deliveries).await;
        let third = tokio::time::timeout(Duration::from_millis(100), deliveries.next()).await;
        assert!(third.is_err(), "a third delivery beyond prefetch 2");
        first.settle(Settlement::Ack).await.unwrap();
        next(&mut deliveries).await;
    }
}
