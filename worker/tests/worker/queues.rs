//! The relay and the consumer over each queue implementation, from one test body: executions
//! committed with their outbox rows are published by the relay, consumed, claimed and run to
//! Completed, each once, and the outbox is left empty. A difference between RabbitMQ and the
//! in-process queue of standalone mode fails one of the two cases.

use crate::helpers::{Queue, TestWorker, python};
use actuate_shared::domain::model::{ExecutionStatus, TriggerKind};
use actuate_shared::relay;
use actuate_shared::storage::{ExecuteOutcome, NewExecution};
use actuate_worker::consumer;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const EXECUTIONS: usize = 12;

async fn outbox_rows_run_to_completed_once(queue: Queue) {
    let worker = TestWorker::start_on(queue).await;
    let action = worker.action(&[python("result = 41 + 1")], 60).await;
    let mut ids = Vec::new();
    for _ in 0..EXECUTIONS {
        let request = NewExecution {
            trigger: TriggerKind::Manual,
            input: None,
            idempotency_key: None,
            run_at: None,
            rerun_of: None,
            trace_parent: None,
            audit: None,
        };
        match worker
            .store
            .create_execution(worker.scope, action, request)
            .await
            .unwrap()
        {
            ExecuteOutcome::Created(e) => ids.push(e.action_execution_id),
            _ => panic!("execute failed"),
        }
    }
    let ctx = worker.ctx.clone();
    let stop = CancellationToken::new();
    let relay = tokio::spawn(relay::run(
        ctx.store.clone(),
        ctx.broker.clone(),
        ctx.relay.clone(),
        format!("test relay ({queue:?})"),
        stop.clone(),
    ));
    let consumer = tokio::spawn(consumer::run(ctx.clone(), stop.clone()));
    for id in &ids {
        let detail = worker
            .wait_status(*id, ExecutionStatus::Completed, Duration::from_secs(60))
            .await;
        assert_eq!(detail.attempt, 1, "{queue:?}: {id} ran more than once");
        assert_eq!(detail.steps[0].output, Some(serde_json::json!(42)));
    }
    stop.cancel();
    relay.await.unwrap();
    consumer.await.unwrap();
    let left = worker
        .store
        .lease_outbox(100, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(
        left.is_empty(),
        "{queue:?}: {} outbox rows left",
        left.len()
    );
}

#[tokio::test]
async fn on_rabbitmq() {
    outbox_rows_run_to_completed_once(Queue::RabbitMq).await;
}

#[tokio::test]
async fn on_the_in_process_queue() {
    outbox_rows_run_to_completed_once(Queue::InProcess).await;
}
