//! Per-test queue names on the real broker (`ACTUATE_TEST_AMQP_URL`, default the local
//! RabbitMQ), so tests run in parallel without seeing each other's messages.

use actuate_shared::message::ExecuteMessage;
use actuate_shared::queue::QueueSettings;
use actuate_shared::queue::rabbitmq as queue;
use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use std::time::Duration;

pub fn amqp_url() -> String {
    std::env::var("ACTUATE_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// Queue settings with a prefix of its own (`test_<uuid>`).
pub fn test_queue_settings() -> QueueSettings {
    QueueSettings {
        url: amqp_url(),
        prefix: format!("test_{}", uuid::Uuid::new_v4().simple()),
    }
}

async fn connect(settings: &QueueSettings) -> lapin::Connection {
    queue::connect(settings, "actuate tests")
        .await
        .unwrap_or_else(|e| {
            panic!(
                "RabbitMQ is not reachable at {} ({e}); start it with scripts/setup.sh or point \
             ACTUATE_TEST_AMQP_URL at a broker",
                settings.url
            )
        })
}

/// Reads up to `count` messages from the execution queue (acking them), waiting at most
/// `within` in total.
pub async fn take_messages(
    settings: &QueueSettings,
    count: usize,
    within: Duration,
) -> Vec<ExecuteMessage> {
    let connection = connect(settings).await;
    let channel = queue::consumer_channel(&connection, settings, 500)
        .await
        .expect("consumer channel");
    let mut consumer = channel
        .basic_consume(
            settings.execution_queue().into(),
            "test-reader".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consume");
    let mut messages = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while messages.len() < count {
        let next = tokio::time::timeout_at(deadline, consumer.next()).await;
        let Ok(Some(Ok(delivery))) = next else { break };
        messages.push(ExecuteMessage::from_bytes(&delivery.data).expect("valid message"));
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
    }
    let _ = connection.close(200, "done".into()).await;
    messages
}

/// Publishes raw bytes to the execution queue (poison-message tests).
pub async fn publish_raw(settings: &QueueSettings, body: &[u8]) {
    let connection = connect(settings).await;
    let channel = connection.create_channel().await.expect("channel");
    queue::declare_topology(&channel, settings)
        .await
        .expect("topology");
    channel
        .basic_publish(
            "".into(),
            settings.execution_queue().into(),
            lapin::options::BasicPublishOptions::default(),
            body,
            lapin::BasicProperties::default(),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    let _ = connection.close(200, "done".into()).await;
}

/// How many messages wait in the dead-letter queue.
pub async fn dead_letter_count(settings: &QueueSettings) -> u32 {
    let connection = connect(settings).await;
    let channel = connection.create_channel().await.expect("channel");
    queue::declare_topology(&channel, settings)
        .await
        .expect("topology");
    let declared = channel
        .queue_declare(
            settings.dead_letter_queue().into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("dead-letter queue exists");
    let _ = connection.close(200, "done".into()).await;
    declared.message_count()
}

/// Deletes the test's queues, through the broker directly (the test's own URL may point at a
/// proxy that no longer runs). `scripts/test.sh` sweeps queues left by killed test runs.
pub async fn delete_queues(settings: &QueueSettings) {
    let direct = QueueSettings {
        url: amqp_url(),
        prefix: settings.prefix.clone(),
    };
    let Ok(connection) = queue::connect(&direct, "actuate tests cleanup").await else {
        return;
    };
    if let Ok(channel) = connection.create_channel().await {
        for name in [settings.execution_queue(), settings.dead_letter_queue()] {
            let _ = channel
                .queue_delete(name.into(), QueueDeleteOptions::default())
                .await;
        }
    }
    let _ = connection.close(200, "done".into()).await;
}
