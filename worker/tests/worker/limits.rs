use crate::helpers::{TestWorker, webhook};
use actuate_shared::domain::model::{ExecutionStatus, StepRunStatus};
use actuate_shared::storage::CancelOutcome;
use actuate_tests::sink::Sink;
use std::time::{Duration, Instant};

#[tokio::test]
async fn max_run_time_ends_the_execution_whatever_the_step_is_doing() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let message = worker.queue(&[webhook(&sink.url("/slow/20000"))], 1).await;
    let started = Instant::now();
    let detail = worker
        .deliver_until(&message, ExecutionStatus::Failed, Duration::from_secs(10))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped at the deadline, not at the step's end"
    );
    assert_eq!(
        detail.execution.notes.as_deref(),
        Some("exceeded maxRunTime of 1 s")
    );
    assert_eq!(detail.steps[0].status, StepRunStatus::Failed);
    assert_eq!(
        detail.steps[0].error.as_deref(),
        Some("exceeded maxRunTime of 1 s")
    );
    worker.idle(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn cancel_stops_a_running_execution_promptly() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let message = worker
        .queue(
            &[
                webhook(&sink.url("/slow/30000")),
                webhook(&sink.url("/after")),
            ],
            600,
        )
        .await;
    worker
        .deliver_until(&message, ExecutionStatus::Running, Duration::from_secs(5))
        .await;
    sink.wait_for(1, Duration::from_secs(5)).await;

    let outcome = worker
        .store
        .cancel_execution(worker.scope, message.execution_id)
        .await
        .unwrap();
    assert!(matches!(outcome, CancelOutcome::Cancelled(_)));
    let stopped = Instant::now();
    worker.idle(Duration::from_secs(5)).await;
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "the worker stopped at once"
    );

    let detail = worker.detail(message.execution_id).await;
    assert_eq!(detail.execution.status, ExecutionStatus::Failed);
    assert_eq!(detail.execution.notes.as_deref(), Some("cancelled"));
    assert_eq!(detail.steps[0].status, StepRunStatus::Failed);
    assert_eq!(detail.steps[1].status, StepRunStatus::Skipped);
    assert_eq!(sink.requests().len(), 1, "the next step never ran");
}

#[tokio::test]
async fn shutdown_releases_unfinished_executions_for_another_worker() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let message = worker
        .queue(&[webhook(&sink.url("/slow/30000"))], 600)
        .await;
    worker
        .deliver_until(&message, ExecutionStatus::Running, Duration::from_secs(5))
        .await;
    sink.wait_for(1, Duration::from_secs(5)).await;
    // What startup does when the grace period is over.
    worker.ctx.abandon.cancel();
    worker.idle(Duration::from_secs(5)).await;
    let detail = worker.detail(message.execution_id).await;
    assert_eq!(detail.execution.status, ExecutionStatus::Queued);
    assert_eq!(
        detail.steps[0].status,
        StepRunStatus::Pending,
        "the step will run again"
    );
    assert_eq!(
        worker.outbox_rows(message.execution_id).await,
        1,
        "back on its way to the queue"
    );
}
