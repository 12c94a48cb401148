//! The queue between relays and workers, behind one interface with two implementations:
//! [`rabbitmq`] for deployments and [`memory`] (tokio, in one process) for standalone mode.
//!
//! Both give the same contract, which the relay and the worker's consumer rely on:
//! - a publish is answered per message, `Ok` only once the message is durable in the queue
//!   (RabbitMQ: confirmed and routed);
//! - a delivery is settled once: ack (done), requeue (deliver again) or dead-letter; one never
//!   settled (its consumer closed or died) is delivered again;
//! - at most `prefetch` deliveries of one consumer are unsettled at a time;
//! - a message delivered [`DELIVERY_LIMIT`] times without an ack is dead-lettered.
//!
//! The queue is not the record: the store's outbox is, and a lost message is published again
//! from it (see `relay`).

pub mod memory;
pub mod rabbitmq;

use crate::message::ExecuteMessage;
use crate::settings::{self, SettingError, Source};
use async_trait::async_trait;

pub use memory::MemoryBroker;
pub use rabbitmq::RabbitBroker;

/// Deliveries of one message before it is dead-lettered. A claim acks the message at once,
/// so only messages that cannot be processed at all come near this.
pub const DELIVERY_LIMIT: i64 = 5;

#[derive(Clone)]
pub struct QueueSettings {
    /// `AMQP_URL`.
    pub url: String,
    /// `ACTUATE_QUEUE_PREFIX`: lets several deployments (or tests) share one broker.
    pub prefix: String,
}

impl std::fmt::Debug for QueueSettings {
    // The URL carries the broker password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueSettings")
            .field("url", &"<redacted>")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl QueueSettings {
    pub fn from_source(src: &dyn Source) -> Result<Self, SettingError> {
        let url = settings::parsed(
            src,
            "AMQP_URL",
            "amqp://guest:guest@127.0.0.1:5672/%2f".to_string(),
        )?;
        if !(url.starts_with("amqp://") || url.starts_with("amqps://")) {
            return Err(SettingError {
                name: "AMQP_URL",
                problem: "must start with amqp:// or amqps://".into(),
            });
        }
        let prefix = settings::parsed(src, "ACTUATE_QUEUE_PREFIX", "actuate".to_string())?;
        if prefix.is_empty()
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(SettingError {
                name: "ACTUATE_QUEUE_PREFIX",
                problem: "must be letters, digits, '.', '_' or '-'".into(),
            });
        }
        Ok(Self { url, prefix })
    }

    pub fn execution_queue(&self) -> String {
        format!("{}.executions", self.prefix)
    }

    pub fn dead_letter_queue(&self) -> String {
        format!("{}.executions.dead", self.prefix)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("broker error: {0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker did not accept the message: {0}")]
    NotConfirmed(String),
    #[error("the queue session ended")]
    Closed,
}

/// Where messages are published and consumed. Each publisher and consumer is a session of its
/// own; one that fails is dropped and a new one opened.
#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// A publisher; `name` identifies this process to the broker.
    async fn publisher(&self, name: &str) -> Result<Box<dyn Publish>, QueueError>;
    /// A consumer of the execution queue with at most `prefetch` unsettled deliveries.
    async fn consume(&self, name: &str, prefetch: u16) -> Result<Box<dyn Deliveries>, QueueError>;
}

pub type DynBroker = std::sync::Arc<dyn Broker>;

#[async_trait]
pub trait Publish: Send + Sync {
    /// False once the session is broken: open a new publisher.
    fn is_usable(&self) -> bool;
    /// Publishes all messages, then answers one result per message: `Ok` only for a message
    /// now durable in the queue. `Err` for the whole call when the session broke.
    async fn publish_all(
        &self,
        messages: &[ExecuteMessage],
    ) -> Result<Vec<Result<(), QueueError>>, QueueError>;
    async fn close(self: Box<Self>);
}

#[async_trait]
pub trait Deliveries: Send {
    /// The next delivery; `Err` when the session ended (open a new consumer).
    async fn next(&mut self) -> Result<Delivery, QueueError>;
    /// Stops deliveries; those not yet settled are delivered again (to any consumer).
    async fn close(self: Box<Self>);
}

/// How a delivery is settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settlement {
    Ack,
    Requeue,
    DeadLetter,
}

/// One delivered message; settle it with [`Delivery::settle`].
pub struct Delivery {
    pub body: Vec<u8>,
    /// The message's `traceparent` header, when it has one.
    pub trace_parent: Option<String>,
    settle: Box<dyn Settle>,
}

impl Delivery {
    fn new(body: Vec<u8>, trace_parent: Option<String>, settle: Box<dyn Settle>) -> Self {
        Self {
            body,
            trace_parent,
            settle,
        }
    }

    /// `Ok(false)` when the delivery can no longer be settled (its session ended): it is
    /// delivered again.
    pub async fn settle(self, how: Settlement) -> Result<bool, QueueError> {
        self.settle.settle(how).await
    }
}

#[async_trait]
trait Settle: Send + Sync {
    async fn settle(self: Box<Self>, how: Settlement) -> Result<bool, QueueError>;
}
