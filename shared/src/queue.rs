//! RabbitMQ: queue names, topology and confirmed publishing.
//!
//! Topology (declared idempotently by every process that connects):
//! - `<prefix>.executions`: durable quorum queue the workers consume, with a delivery limit so
//!   a message that keeps failing is dead-lettered instead of redelivered forever;
//! - `<prefix>.executions.dead`: where dead-lettered messages wait for an operator.
//!
//! Messages go through the default exchange, published `mandatory` with publisher confirms: a
//! message is sent only when the broker acked it *and* routed it to the queue.

use crate::message::ExecuteMessage;
use crate::settings::{self, SettingError, Source};
use lapin::Confirmation;
use lapin::options::{
    BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};

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
}

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
                    BasicProperties::default()
                        .with_delivery_mode(2)
                        .with_content_type("application/json".into()),
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
