//! Concurrency limits on every backend: a limited execution whose group has no free slot
//! waits (Queued, no queue message, not failed); a freed slot goes to the oldest waiting one;
//! limits per key value are independent.

use crate::helpers::{TestWorker, webhook};
use actuate_shared::domain::concurrency::KeyPath;
use actuate_shared::domain::draft::{ActionPatch, ConcurrencyKey};
use actuate_shared::domain::ids::{ActionId, ExecutionId, KeyId};
use actuate_shared::domain::model::ExecutionStatus;
use actuate_shared::message::ExecuteMessage;
use actuate_tests::sink::Sink;
use actuate_worker::handler::Disposition;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

async fn limit(worker: &TestWorker, action: ActionId, max: Option<i32>, key: Option<&str>) {
    let patch = ActionPatch {
        max_concurrency: Some(max),
        concurrency_key: Some(key.map(|k| ConcurrencyKey {
            template: k.to_string(),
            path: KeyPath::parse(k).unwrap(),
        })),
        ..ActionPatch::default()
    };
    worker
        .store
        .update_action(worker.scope, action, patch, KeyId::new())
        .await
        .unwrap()
        .unwrap();
}

async fn status(worker: &TestWorker, id: ExecutionId) -> ExecutionStatus {
    worker.detail(id).await.execution.status
}

async fn deliver(worker: &TestWorker, message: &ExecuteMessage) {
    assert_eq!(worker.deliver(&message.to_bytes()).await, Disposition::Ack);
}

/// Waits until the execution has `status`.
async fn until(worker: &TestWorker, id: ExecutionId, wanted: ExecutionStatus) {
    worker.wait_status(id, wanted, WAIT).await;
}

#[tokio::test]
async fn excess_executions_wait_and_a_freed_slot_goes_to_the_oldest() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let action = worker.action(&[webhook(&sink.url("/slow/700"))], 60).await;
    limit(&worker, action, Some(1), None).await;
    let mut messages = Vec::new();
    for _ in 0..3 {
        messages.push(worker.execute(action).await);
    }
    let ids: Vec<ExecutionId> = messages.iter().map(|m| m.execution_id).collect();

    for message in &messages {
        deliver(&worker, message).await;
    }
    until(&worker, ids[0], ExecutionStatus::Running).await;
    for id in &ids[1..] {
        assert_eq!(status(&worker, *id).await, ExecutionStatus::Queued);
        assert_eq!(worker.outbox_rows(*id).await, 0, "waiting: no message");
        assert_eq!(
            worker.detail(*id).await.attempt,
            0,
            "not claimed, not failed"
        );
    }
    assert_eq!(
        worker.store.release_due(100).await.unwrap(),
        0,
        "no slot is free"
    );

    until(&worker, ids[0], ExecutionStatus::Completed).await;
    assert_eq!(
        worker.store.release_due(100).await.unwrap(),
        1,
        "one slot, one release"
    );
    assert_eq!(
        worker.outbox_rows(ids[1]).await,
        1,
        "the oldest waiting one first"
    );
    assert_eq!(worker.outbox_rows(ids[2]).await, 0);
    assert_eq!(worker.store.release_due(100).await.unwrap(), 0);

    // A newer execution arriving now finds the slot promised to the released one.
    let late = worker.execute(action).await;
    deliver(&worker, &late).await;
    assert_eq!(
        status(&worker, late.execution_id).await,
        ExecutionStatus::Queued
    );
    deliver(&worker, &messages[1]).await;
    until(&worker, ids[1], ExecutionStatus::Running).await;
    until(&worker, ids[1], ExecutionStatus::Completed).await;
    assert_eq!(worker.store.release_due(100).await.unwrap(), 1);
    assert_eq!(worker.outbox_rows(ids[2]).await, 1, "then the next oldest");
    deliver(&worker, &messages[2]).await;
    until(&worker, ids[2], ExecutionStatus::Completed).await;
    assert_eq!(worker.store.release_due(100).await.unwrap(), 1);
    deliver(&worker, &late).await;
    until(&worker, late.execution_id, ExecutionStatus::Completed).await;
    assert_eq!(sink.requests().len(), 4);
}

#[tokio::test]
async fn each_key_value_has_its_own_slots() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let action = worker.action(&[webhook(&sink.url("/slow/500"))], 60).await;
    limit(&worker, action, None, Some("{{ input.customer.id }}")).await;
    let a1 = worker
        .execute_with_input(action, json!({"customer": {"id": "a"}}))
        .await;
    let a2 = worker
        .execute_with_input(action, json!({"customer": {"id": "a"}}))
        .await;
    let b1 = worker
        .execute_with_input(action, json!({"customer": {"id": "b"}}))
        .await;
    for message in [&a1, &a2, &b1] {
        deliver(&worker, message).await;
    }
    until(&worker, a1.execution_id, ExecutionStatus::Running).await;
    until(&worker, b1.execution_id, ExecutionStatus::Running).await;
    assert_eq!(
        status(&worker, a2.execution_id).await,
        ExecutionStatus::Queued,
        "one per key value without maxConcurrency"
    );
    until(&worker, a1.execution_id, ExecutionStatus::Completed).await;
    assert_eq!(worker.store.release_due(100).await.unwrap(), 1);
    deliver(&worker, &a2).await;
    until(&worker, a2.execution_id, ExecutionStatus::Completed).await;
}

#[tokio::test]
async fn a_cancelled_waiting_execution_is_never_released() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let action = worker.action(&[webhook(&sink.url("/slow/300"))], 60).await;
    limit(&worker, action, Some(1), None).await;
    let first = worker.execute(action).await;
    let second = worker.execute(action).await;
    deliver(&worker, &first).await;
    deliver(&worker, &second).await;
    worker
        .store
        .cancel_execution(worker.scope, second.execution_id)
        .await
        .unwrap();
    until(&worker, first.execution_id, ExecutionStatus::Completed).await;
    assert_eq!(worker.store.release_due(100).await.unwrap(), 0);
    assert_eq!(
        status(&worker, second.execution_id).await,
        ExecutionStatus::Failed
    );
}

#[tokio::test]
async fn waiting_executions_follow_a_changed_limit() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let action = worker.action(&[webhook(&sink.url("/slow/800"))], 60).await;
    limit(&worker, action, Some(1), None).await;
    let mut messages = Vec::new();
    for _ in 0..4 {
        messages.push(worker.execute(action).await);
    }
    for message in &messages {
        deliver(&worker, message).await;
    }
    until(&worker, messages[0].execution_id, ExecutionStatus::Running).await;

    // Raised to 3: two more slots, for the two oldest waiting.
    limit(&worker, action, Some(3), None).await;
    assert_eq!(worker.store.release_due(100).await.unwrap(), 2);
    assert_eq!(worker.outbox_rows(messages[1].execution_id).await, 1);
    assert_eq!(worker.outbox_rows(messages[2].execution_id).await, 1);
    assert_eq!(worker.outbox_rows(messages[3].execution_id).await, 0);

    // Removed: the last one waiting is published at once.
    limit(&worker, action, None, None).await;
    assert_eq!(worker.outbox_rows(messages[3].execution_id).await, 1);
    for message in &messages[1..] {
        deliver(&worker, message).await;
    }
    for message in &messages {
        until(&worker, message.execution_id, ExecutionStatus::Completed).await;
    }
}
