//! Delayed runs in the store, on every backend: held (no outbox row, not claimable) until their
//! time, then released exactly once and run; cancellable while held.

use crate::helpers::{TestWorker, webhook};
use actuate_shared::domain::ids::ExecutionId;
use actuate_shared::domain::model::{ExecutionStatus, StepRunStatus, TriggerKind};
use actuate_shared::message::ExecuteMessage;
use actuate_shared::storage::{CancelOutcome, ExecuteOutcome, NewExecution};
use actuate_tests::sink::Sink;
use actuate_worker::handler::Disposition;
use chrono::{DateTime, Utc};
use std::time::Duration;

async fn delayed(worker: &TestWorker, url: &str, run_at: DateTime<Utc>) -> ExecutionId {
    let action = worker.action(&[webhook(url)], 60).await;
    let request = NewExecution {
        run_at: Some(run_at),
        ..NewExecution::new(TriggerKind::Manual, None)
    };
    let ExecuteOutcome::Created(execution) = worker
        .store
        .create_execution(worker.scope, action, request)
        .await
        .unwrap()
    else {
        panic!("execute failed")
    };
    execution.action_execution_id
}

fn message(worker: &TestWorker, execution_id: ExecutionId) -> ExecuteMessage {
    ExecuteMessage {
        tenant_id: worker.scope.tenant_id,
        project_id: worker.scope.project_id,
        execution_id,
        next_step_type: None,
        trace_parent: None,
    }
}

#[tokio::test]
async fn a_delayed_run_is_held_until_its_time_then_released_once_and_run() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let run_at = Utc::now() + chrono::Duration::milliseconds(1500);
    let id = delayed(&worker, &sink.url("/late"), run_at).await;

    let detail = worker.detail(id).await;
    assert_eq!(detail.execution.status, ExecutionStatus::Queued);
    let shown = detail.run_at.expect("runAt is shown");
    assert!(
        (shown - run_at).num_milliseconds().abs() < 1,
        "{shown} != {run_at}"
    );
    assert_eq!(worker.outbox_rows(id).await, 0, "held: nothing to publish");

    // A stray message before its time (a redelivery, a hand-made publish) starts nothing.
    assert_eq!(
        worker.deliver(&message(&worker, id).to_bytes()).await,
        Disposition::Ack
    );
    assert_eq!(
        worker.store.release_due(100).await.unwrap(),
        0,
        "not due yet"
    );
    let detail = worker.detail(id).await;
    assert_eq!(detail.execution.status, ExecutionStatus::Queued);
    assert_eq!(detail.attempt, 0, "no claim was made");
    assert!(sink.requests().is_empty());

    let wait = (run_at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(50)).await;
    assert_eq!(worker.store.release_due(100).await.unwrap(), 1);
    assert_eq!(
        worker.store.release_due(100).await.unwrap(),
        0,
        "released once"
    );
    assert_eq!(worker.outbox_rows(id).await, 1, "published once released");

    let detail = worker
        .deliver_until(
            &message(&worker, id),
            ExecutionStatus::Completed,
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(detail.attempt, 1);
    let step = &detail.steps[0];
    assert_eq!(step.status, StepRunStatus::Completed);
    assert!(
        step.date_started.unwrap() >= run_at - chrono::Duration::milliseconds(1),
        "started at {:?}, before {run_at}",
        step.date_started
    );
    assert_eq!(sink.requests().len(), 1);
}

#[tokio::test]
async fn a_held_run_cancelled_before_its_time_never_starts() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let run_at = Utc::now() + chrono::Duration::milliseconds(300);
    let id = delayed(&worker, &sink.url("/never"), run_at).await;

    let CancelOutcome::Cancelled(cancelled) = worker
        .store
        .cancel_execution(worker.scope, id)
        .await
        .unwrap()
    else {
        panic!("a held execution can be cancelled")
    };
    assert_eq!(cancelled.status, ExecutionStatus::Failed);

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(worker.store.release_due(100).await.unwrap(), 0);
    assert_eq!(worker.outbox_rows(id).await, 0);
    assert_eq!(
        worker.deliver(&message(&worker, id).to_bytes()).await,
        Disposition::Ack
    );
    let detail = worker.detail(id).await;
    assert_eq!(detail.execution.status, ExecutionStatus::Failed);
    assert_eq!(detail.attempt, 0);
    assert!(sink.requests().is_empty());
}

#[tokio::test]
async fn a_stale_check_leaves_held_runs_alone() {
    let worker = TestWorker::start().await;
    let run_at = Utc::now() + chrono::Duration::hours(1);
    let id = delayed(&worker, "http://127.0.0.1:9/x", run_at).await;
    // Queued for longer than "stale" (zero here) and without an outbox row: only its hold
    // keeps the backstop from publishing it early.
    assert_eq!(
        worker
            .store
            .requeue_stale(Duration::ZERO, 100)
            .await
            .unwrap(),
        0
    );
    assert_eq!(worker.outbox_rows(id).await, 0);
}
