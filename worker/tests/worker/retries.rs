//! Step retries on every backend: a transient failure holds the execution in the store for the
//! backoff (no worker holds it), then any delivery after the release runs the step again;
//! attempts and the last error are shown; permanent failures, steps without a policy and
//! waits past maxRunTime are not retried; `Retry-After` lengthens the wait.

use crate::helpers::{TestWorker, python, webhook};
use actuate_shared::domain::ids::ExecutionId;
use actuate_shared::domain::model::{ExecutionDetail, ExecutionStatus, StepRunStatus};
use actuate_shared::domain::retry::RetryPolicy;
use actuate_shared::message::ExecuteMessage;
use actuate_tests::sink::Sink;
use actuate_worker::handler::Disposition;
use chrono::Utc;
use serde_json::Value;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

fn policy(max_attempts: u32, initial: f64, factor: f64, max: f64) -> Option<RetryPolicy> {
    Some(RetryPolicy {
        max_attempts,
        initial_delay_seconds: initial,
        backoff_factor: factor,
        max_delay_seconds: max,
    })
}

async fn queue_retrying(
    worker: &TestWorker,
    step: (actuate_shared::domain::model::StepType, Value),
    retry: Option<RetryPolicy>,
    max_run_time: i32,
) -> ExecuteMessage {
    let action = worker
        .action_retrying(worker.scope, &[step], retry, max_run_time)
        .await;
    worker.execute(action).await
}

/// Delivers `message` and waits until its execution is held for a retry with `attempts`
/// tries made, or has ended.
async fn deliver_until_held(
    worker: &TestWorker,
    message: &ExecuteMessage,
    attempts: i32,
) -> ExecutionDetail {
    assert_eq!(worker.deliver(&message.to_bytes()).await, Disposition::Ack);
    let deadline = Instant::now() + WAIT;
    loop {
        let detail = worker.detail(message.execution_id).await;
        let held = detail.execution.status == ExecutionStatus::Queued
            && detail.steps[0].attempts == attempts;
        if held || detail.execution.date_ended.is_some() {
            return detail;
        }
        assert!(Instant::now() < deadline, "not held: {detail:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Calls `release_due` until the execution is released; answers how long after `since` that was.
async fn released_after(worker: &TestWorker, id: ExecutionId, since: Instant) -> Duration {
    // Rows of earlier releases stay: no relay runs here.
    let before = worker.outbox_rows(id).await;
    loop {
        if worker.store.release_due(100).await.unwrap() == 1 {
            assert_eq!(
                worker.outbox_rows(id).await,
                before + 1,
                "published once released"
            );
            return since.elapsed();
        }
        assert!(since.elapsed() < WAIT, "never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_transient_webhook_failure_is_retried_with_backoff_until_it_passes() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let retry = policy(3, 1.0, 2.0, 1.5);
    let message = queue_retrying(&worker, webhook(&sink.url("/flaky/2/503")), retry, 60).await;
    let id = message.execution_id;

    // First try: 503. The execution waits in the store, unpublished and unclaimed.
    let held = deliver_until_held(&worker, &message, 1).await;
    let failed_at = Instant::now();
    assert_eq!(held.execution.status, ExecutionStatus::Queued, "{held:?}");
    assert_eq!(held.execution.notes, None);
    let step = &held.steps[0];
    assert_eq!(step.status, StepRunStatus::Pending);
    assert!(
        step.error.as_deref().unwrap().contains("503"),
        "the last error is shown: {step:?}"
    );
    assert_eq!(worker.outbox_rows(id).await, 0);
    assert_eq!(
        worker.store.release_due(100).await.unwrap(),
        0,
        "still backing off"
    );

    // The first wait is 1 s, jittered down by at most half.
    let waited = released_after(&worker, id, failed_at).await;
    assert!(
        waited >= Duration::from_millis(490),
        "released after {waited:?}"
    );
    assert!(waited < Duration::from_millis(1000 + 2000), "{waited:?}");

    // Second try: 503 again; the wait grows by the factor, capped at 1.5 s.
    let held = deliver_until_held(&worker, &message, 2).await;
    let failed_at = Instant::now();
    assert_eq!(held.execution.status, ExecutionStatus::Queued, "{held:?}");
    let waited = released_after(&worker, id, failed_at).await;
    assert!(
        waited >= Duration::from_millis(740),
        "released after {waited:?}"
    );
    assert!(waited < Duration::from_millis(1500 + 2000), "{waited:?}");

    // Third try passes.
    let done = worker
        .deliver_until(&message, ExecutionStatus::Completed, WAIT)
        .await;
    assert_eq!(done.steps[0].attempts, 3);
    assert_eq!(done.steps[0].status, StepRunStatus::Completed);
    assert_eq!(done.attempt, 3, "one claim per try");
    assert_eq!(sink.requests().len(), 3);
}

#[tokio::test]
async fn a_python_exception_is_retried_and_the_notes_name_the_attempts() {
    let worker = TestWorker::start().await;
    let message = queue_retrying(
        &worker,
        python("raise ValueError('not yet')"),
        policy(2, 0.0, 1.0, 0.0),
        60,
    )
    .await;
    let held = deliver_until_held(&worker, &message, 1).await;
    assert_eq!(held.execution.status, ExecutionStatus::Queued, "{held:?}");
    assert_eq!(worker.store.release_due(100).await.unwrap(), 1, "no wait");
    let failed = worker
        .deliver_until(&message, ExecutionStatus::Failed, WAIT)
        .await;
    let notes = failed.execution.notes.unwrap();
    assert!(
        notes.starts_with("step 1 (Python) failed after 2 attempts: ValueError: not yet"),
        "{notes}"
    );
    assert_eq!(failed.steps[0].attempts, 2);
    assert_eq!(failed.steps[0].status, StepRunStatus::Failed);
    assert!(
        failed.steps[0]
            .error
            .as_deref()
            .unwrap()
            .contains("not yet")
    );
}

#[tokio::test]
async fn permanent_failures_and_steps_without_a_policy_are_not_retried() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    for (path, retry, why) in [
        (
            "/status/404",
            policy(5, 0.0, 1.0, 0.0),
            "a 404 is given again",
        ),
        ("/status/503", None, "no policy"),
        (
            "/status/503",
            policy(1, 0.0, 1.0, 0.0),
            "one attempt in all",
        ),
    ] {
        let message = queue_retrying(&worker, webhook(&sink.url(path)), retry, 60).await;
        let failed = worker
            .deliver_until(&message, ExecutionStatus::Failed, WAIT)
            .await;
        assert_eq!(failed.steps[0].attempts, 1, "{why}");
        let notes = failed.execution.notes.unwrap();
        assert!(
            notes.starts_with("step 1 (Webhook) failed: HTTP"),
            "{why}: {notes}"
        );
    }
    assert_eq!(worker.store.release_due(100).await.unwrap(), 0);
}

#[tokio::test]
async fn retry_after_lengthens_the_wait() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    // The policy asks for no wait; the answer asks for 2 s.
    let message = queue_retrying(
        &worker,
        webhook(&sink.url("/flaky/1/429/2")),
        policy(2, 0.0, 1.0, 0.0),
        60,
    )
    .await;
    let held = deliver_until_held(&worker, &message, 1).await;
    let failed_at = Instant::now();
    assert_eq!(held.execution.status, ExecutionStatus::Queued, "{held:?}");
    let waited = released_after(&worker, message.execution_id, failed_at).await;
    assert!(
        waited >= Duration::from_millis(1900),
        "released after {waited:?}"
    );
    let done = worker
        .deliver_until(&message, ExecutionStatus::Completed, WAIT)
        .await;
    assert_eq!(done.steps[0].attempts, 2);
}

#[tokio::test]
async fn a_wait_past_max_run_time_fails_the_step_now() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let started = Utc::now();
    let message = queue_retrying(
        &worker,
        webhook(&sink.url("/status/503")),
        policy(5, 30.0, 2.0, 60.0),
        10,
    )
    .await;
    let failed = worker
        .deliver_until(&message, ExecutionStatus::Failed, WAIT)
        .await;
    let notes = failed.execution.notes.unwrap();
    assert!(
        notes.contains("failed after 1 attempt (no time left within maxRunTime"),
        "{notes}"
    );
    assert!(failed.execution.date_ended.unwrap() - started < chrono::Duration::seconds(10));
}

#[tokio::test]
async fn python_failures_that_would_repeat_are_not_retried() {
    let worker = TestWorker::start().await;
    for (settings, why) in [
        (
            serde_json::json!({"code": "x = 1", "function": "missing"}),
            "the named function does not exist",
        ),
        (
            serde_json::json!({"code": "result = object()"}),
            "the result is not JSON",
        ),
    ] {
        let step = (actuate_shared::domain::model::StepType::Python, settings);
        let message = queue_retrying(&worker, step, policy(3, 0.0, 1.0, 0.0), 60).await;
        let failed = worker
            .deliver_until(&message, ExecutionStatus::Failed, WAIT)
            .await;
        assert_eq!(failed.steps[0].attempts, 1, "{why}: {failed:?}");
    }
    assert_eq!(worker.store.release_due(100).await.unwrap(), 0);
}
