//! The RabbitMQ broker: topology, confirmed publishing and consuming.
//!
//! Topology (declared idempotently by every process that connects):
//! - `<prefix>.executions`: durable quorum queue the workers consume, with a delivery limit so
//!   a message that keeps failing is dead-lettered instead of redelivered forever;
//! - `<prefix>.executions.dead`: where dead-lettered messages wait for an operator.
//!
//! Messages go through the default exchange, published `mandatory` with publisher confirms: a
//! message is sent only when the broker acked it *and* routed it to the queue.

use super::{
    Broker, DELIVERY_LIMIT, Deliveries, Delivery, Publish, QueueError, QueueSettings, Settle,
    Settlement,
};
use crate::message::ExecuteMessage;
use crate::telemetry::TRACEPARENT;
use async_trait::async_trait;
use futures_util::StreamExt;
use lapin::Confirmation;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions,
    BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};

pub async fn connect(settings: &QueueSettings, name: &str) -> Result<Connection, lapin::Error> {
    let properties = ConnectionProperties::default().with_connection_name(name.to_string().into());
    Connection::connect(&settings.url, properties).await
}

/// Declares both queues. Safe to call from every process, every time it connects.
pub async fn declare_topology(
    channel: &Channel,
    settings: &QueueSettings,
) -> Result<(), lapin::Error> {
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    let mut dead = FieldTable::default();
    dead.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    channel
        .queue_declare(settings.dead_letter_queue().into(), durable, dead)
        .await?;
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    args.insert(
        "x-delivery-limit".into(),
        AMQPValue::LongLongInt(DELIVERY_LIMIT),
    );
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString("".into()),
    );
    args.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(settings.dead_letter_queue().into()),
    );
    channel
        .queue_declare(settings.execution_queue().into(), durable, args)
        .await?;
    Ok(())
}

/// A channel in confirm mode that publishes execute messages.
pub struct Publisher {
    channel: Channel,
    routing_key: ShortString,
}

impl Publisher {
    pub async fn open(
        connection: &Connection,
        settings: &QueueSettings,
    ) -> Result<Self, lapin::Error> {
        let channel = connection.create_channel().await?;
        declare_topology(&channel, settings).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Self {
            channel,
            routing_key: settings.execution_queue().into(),
        })
    }

    pub fn is_usable(&self) -> bool {
        self.channel.status().connected()
    }

    /// Publishes all messages, then waits for each confirm. Returns one result per message:
    /// `Ok` only for a message the broker acked and routed.
    pub async fn publish_all(
        &self,
        messages: &[ExecuteMessage],
    ) -> Result<Vec<Result<(), QueueError>>, QueueError> {
        let mut pending = Vec::with_capacity(messages.len());
        for message in messages {
            let confirm = self
                .channel
                .basic_publish(
                    "".into(),
                    self.routing_key.clone(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    &message.to_bytes(),
                    properties(message),
                )
                .await?;
            pending.push(confirm);
        }
        let mut results = Vec::with_capacity(pending.len());
        for confirm in pending {
            results.push(match confirm.await? {
                Confirmation::Ack(None) => Ok(()),
                Confirmation::Ack(Some(returned)) => Err(QueueError::NotConfirmed(format!(
                    "unroutable ({})",
                    returned.reply_text
                ))),
                Confirmation::Nack(_) => Err(QueueError::NotConfirmed("nacked".into())),
                Confirmation::NotRequested => Err(QueueError::NotConfirmed(
                    "channel not in confirm mode".into(),
                )),
            });
        }
        Ok(results)
    }
}

/// Opens a consuming channel: topology declared and prefetch set to `prefetch`.
pub async fn consumer_channel(
    connection: &Connection,
    settings: &QueueSettings,
    prefetch: u16,
) -> Result<Channel, lapin::Error> {
    let channel = connection.create_channel().await?;
    declare_topology(&channel, settings).await?;
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await?;
    Ok(channel)
}

/// RabbitMQ as a [`Broker`]: every publisher and consumer has its own connection.
pub struct RabbitBroker {
    settings: QueueSettings,
}

impl RabbitBroker {
    pub fn new(settings: QueueSettings) -> Self {
        Self { settings }
    }
}

struct RabbitPublisher {
    connection: Connection,
    publisher: Publisher,
}

struct RabbitDeliveries {
    connection: Connection,
    channel: Channel,
    consumer: lapin::Consumer,
    tag: String,
}

struct RabbitDelivery(lapin::message::Delivery);

#[async_trait]
impl Broker for RabbitBroker {
    async fn publisher(&self, name: &str) -> Result<Box<dyn Publish>, QueueError> {
        let connection = connect(&self.settings, name).await?;
        let publisher = Publisher::open(&connection, &self.settings).await?;
        Ok(Box::new(RabbitPublisher {
            connection,
            publisher,
        }))
    }

    async fn consume(&self, name: &str, prefetch: u16) -> Result<Box<dyn Deliveries>, QueueError> {
        let connection = connect(&self.settings, name).await?;
        let channel = consumer_channel(&connection, &self.settings, prefetch).await?;
        let tag = format!("{name}-{}", uuid::Uuid::new_v4().simple());
        let consumer = channel
            .basic_consume(
                self.settings.execution_queue().into(),
                tag.clone().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tracing::info!(queue = %self.settings.execution_queue(), prefetch, "consuming");
        Ok(Box::new(RabbitDeliveries {
            connection,
            channel,
            consumer,
            tag,
        }))
    }
}

#[async_trait]
impl Publish for RabbitPublisher {
    fn is_usable(&self) -> bool {
        self.publisher.is_usable()
    }

    async fn publish_all(
        &self,
        messages: &[ExecuteMessage],
    ) -> Result<Vec<Result<(), QueueError>>, QueueError> {
        self.publisher.publish_all(messages).await
    }

    async fn close(self: Box<Self>) {
        let _ = self.connection.close(200, "publisher closing".into()).await;
    }
}

#[async_trait]
impl Deliveries for RabbitDeliveries {
    async fn next(&mut self) -> Result<Delivery, QueueError> {
        match self.consumer.next().await {
            Some(Ok(delivery)) => Ok(Delivery::new(
                delivery.data.clone(),
                trace_parent(&delivery.properties),
                Box::new(RabbitDelivery(delivery)),
            )),
            Some(Err(e)) => Err(e.into()),
            None => Err(QueueError::Closed),
        }
    }

    async fn close(self: Box<Self>) {
        // Unsettled (prefetched) deliveries go back to the queue when the channel closes.
        let _ = self
            .channel
            .basic_cancel(self.tag.as_str().into(), BasicCancelOptions::default())
            .await;
        let _ = self.channel.close(200, "consumer closing".into()).await;
        let _ = self.connection.close(200, "consumer closing".into()).await;
    }
}

#[async_trait]
impl Settle for RabbitDelivery {
    async fn settle(self: Box<Self>, how: Settlement) -> Result<bool, QueueError> {
        let delivery = self.0;
        let nack = |requeue| BasicNackOptions {
            requeue,
            ..BasicNackOptions::default()
        };
        Ok(match how {
            Settlement::Ack => delivery.ack(BasicAckOptions::default()).await?,
            Settlement::Requeue => delivery.nack(nack(true)).await?,
            Settlement::DeadLetter => delivery.nack(nack(false)).await?,
        })
    }
}

/// Persistent JSON, with the execution's trace context as a `traceparent` header (the W3C name,
/// which tracing systems' AMQP instrumentations read).
fn properties(message: &ExecuteMessage) -> BasicProperties {
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into());
    match &message.trace_parent {
        Some(value) => {
            let mut headers = FieldTable::default();
            headers.insert(
                TRACEPARENT.into(),
                AMQPValue::LongString(value.as_str().into()),
            );
            properties.with_headers(headers)
        }
        None => properties,
    }
}

/// The `traceparent` header of a delivered message.
fn trace_parent(properties: &BasicProperties) -> Option<String> {
    match properties.headers().as_ref()?.inner().get(TRACEPARENT)? {
        AMQPValue::LongString(value) => Some(value.to_string()),
        AMQPValue::ShortString(value) => Some(value.to_string()),
        _ => None,
    }
}
