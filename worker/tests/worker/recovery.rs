use crate::helpers::{TestWorker, webhook};
use actuate_shared::domain::model::{ExecutionStatus, StepRunStatus};
use actuate_shared::storage::{ClaimOutcome, FinalOutcome, StepResult};
use actuate_tests::sink::Sink;
use serde_json::json;
use std::time::Duration;

const SHORT: Duration = Duration::from_millis(200);

async fn claim(
    worker: &TestWorker,
    message: &actuate_shared::message::ExecuteMessage,
    lease: Duration,
) -> actuate_shared::storage::ClaimedExecution {
    match worker
        .store
        .claim_execution(worker.scope, message.execution_id, "doomed-worker", lease)
        .await
        .unwrap()
    {
        ClaimOutcome::Claimed(c) => c,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_lost_workers_execution_is_requeued_and_completed_steps_are_not_run_again() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let message = worker
        .queue(
            &[webhook(&sink.url("/one")), webhook(&sink.url("/two"))],
            600,
        )
        .await;
    // A worker claims it (starting step 1), completes step 1, starts step 2, and dies.
    let claimed = claim(&worker, &message, SHORT).await;
    let running = worker.detail(message.execution_id).await;
    assert_eq!(running.steps[0].status, StepRunStatus::Running);
    let done = StepResult {
        succeeded: true,
        output: Some(json!({"from": "attempt 1"})),
        log: None,
        error: None,
    };
    assert!(
        worker
            .store
            .finish_step(claimed.fence, 1, done.clone(), 2)
            .await
            .unwrap()
    );
    let running = worker.detail(message.execution_id).await;
    assert_eq!(running.steps[1].status, StepRunStatus::Running);
    tokio::time::sleep(SHORT * 2).await;

    let report = worker
        .store
        .reap_expired(3, Duration::ZERO, 100)
        .await
        .unwrap();
    assert_eq!((report.requeued, report.failed), (1, 0));
    let detail = worker.detail(message.execution_id).await;
    assert_eq!(detail.execution.status, ExecutionStatus::Queued);
    assert_eq!(detail.steps[1].status, StepRunStatus::Pending);
    assert_eq!(worker.outbox_rows(message.execution_id).await, 1);
    // Reaping again finds nothing: the first reaper took it.
    assert_eq!(
        worker
            .store
            .reap_expired(3, Duration::ZERO, 100)
            .await
            .unwrap()
            .requeued,
        0
    );

    // The redelivered message is run by a live worker: only step 2 runs.
    let detail = worker
        .deliver_until(
            &message,
            ExecutionStatus::Completed,
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(detail.attempt, 2);
    assert_eq!(detail.steps[0].output, Some(json!({"from": "attempt 1"})));
    let paths: Vec<_> = sink.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, vec!["/two"]);

    // The dead worker wakes up: everything it writes is fenced out.
    assert!(!worker.store.heartbeat(claimed.fence, SHORT).await.unwrap());
    assert!(
        !worker
            .store
            .finish_step(claimed.fence, 2, done, 3)
            .await
            .unwrap()
    );
    let failed = FinalOutcome::Failed {
        notes: "late".into(),
    };
    assert!(
        !worker
            .store
            .finish_execution(claimed.fence, failed, None)
            .await
            .unwrap()
    );
    assert!(!worker.store.release_execution(claimed.fence).await.unwrap());
    let after = worker.detail(message.execution_id).await;
    assert_eq!(after.execution.status, ExecutionStatus::Completed);
    assert_eq!(after.execution.notes, None);
}

#[tokio::test]
async fn an_execution_that_keeps_losing_workers_fails_with_notes() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let message = worker.queue(&[webhook(&sink.url("/x"))], 600).await;
    for attempt in 1..=3 {
        let claimed = claim(&worker, &message, SHORT).await;
        assert_eq!(claimed.fence.attempt, attempt);
        tokio::time::sleep(SHORT * 2).await;
        worker
            .store
            .reap_expired(3, Duration::ZERO, 100)
            .await
            .unwrap();
    }
    let detail = worker.detail(message.execution_id).await;
    assert_eq!(detail.execution.status, ExecutionStatus::Failed);
    assert_eq!(
        detail.execution.notes.as_deref(),
        Some("worker lost: no worker finished it in 3 attempts")
    );
    assert!(detail.execution.date_ended.is_some());
    // Each claim started the step; the last worker to lose it was running it.
    assert_eq!(detail.steps[0].status, StepRunStatus::Failed);
    assert_eq!(detail.steps[0].error, detail.execution.notes);
}

#[tokio::test]
async fn a_reaped_execution_past_its_deadline_fails_as_such() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let message = worker.queue(&[webhook(&sink.url("/x"))], 1).await;
    claim(&worker, &message, SHORT).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    worker
        .store
        .reap_expired(3, Duration::ZERO, 100)
        .await
        .unwrap();
    let detail = worker.detail(message.execution_id).await;
    assert_eq!(
        detail.execution.notes.as_deref(),
        Some("exceeded maxRunTime of 1 s")
    );
}

#[tokio::test]
async fn queued_executions_nobody_took_are_published_again() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let message = worker.queue(&[webhook(&sink.url("/x"))], 60).await;
    // The relay published it (`queue` removed its outbox row) and the broker then lost it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let n = worker
        .store
        .requeue_stale(Duration::from_millis(100), 100)
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(worker.outbox_rows(message.execution_id).await, 1);
    // Not twice while the first re-publication is pending or fresh.
    assert_eq!(
        worker
            .store
            .requeue_stale(Duration::from_millis(100), 100)
            .await
            .unwrap(),
        0
    );
}

/// A sole process's start (standalone mode) frees the outbox rows a gone relay had leased:
/// they are leased again at once, not after the lease.
#[tokio::test]
async fn released_outbox_leases_are_taken_again_at_once() {
    use actuate_shared::domain::model::TriggerKind;
    use actuate_shared::storage::{ExecuteOutcome, NewExecution};
    let worker = TestWorker::start().await;
    let action = worker.action(&[webhook("http://127.0.0.1:9/")], 60).await;
    let request = NewExecution {
        trigger: TriggerKind::Manual,
        input: None,
        idempotency_key: None,
        run_at: None,
        rerun_of: None,
        trace_parent: None,
        audit: None,
    };
    let created = worker
        .store
        .create_execution(worker.scope, action, request)
        .await
        .unwrap();
    let ExecuteOutcome::Created(execution) = created else {
        panic!("{created:?}")
    };
    let lease = Duration::from_secs(300);
    let leased = worker.store.lease_outbox(10, lease).await.unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(
        leased[0].message.execution_id,
        execution.action_execution_id
    );
    assert!(
        worker
            .store
            .lease_outbox(10, lease)
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(worker.store.release_outbox_leases().await.unwrap(), 1);
    let again = worker.store.lease_outbox(10, lease).await.unwrap();
    assert_eq!(again, leased);
    assert_eq!(worker.store.release_outbox_leases().await.unwrap(), 1);
    assert_eq!(worker.store.release_outbox_leases().await.unwrap(), 0);
}

/// A claim can commit and its answer be lost (the database stops between the two). The claim
/// names its owner uniquely, so the worker that retries it recognises its own claim, gives the
/// attempt back and claims again: the execution runs once, as attempt 1, not left to the
/// reaper as a lost worker's.
#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_undone_only_by_its_owner() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let message = worker.queue(&[webhook(&sink.url("/once"))], 600).await;
    let lost = worker
        .store
        .claim_execution(worker.scope, message.execution_id, "w/lost", SHORT)
        .await
        .unwrap();
    assert!(matches!(lost, ClaimOutcome::Claimed(c) if c.fence.attempt == 1));

    let undo = |owner: &'static str| {
        let store = worker.store.clone();
        let (scope, id) = (worker.scope, message.execution_id);
        async move { store.undo_unanswered_claim(scope, id, owner).await.unwrap() }
    };
    assert!(
        !undo("w/other").await,
        "another claim's lease is not undone"
    );
    assert!(undo("w/lost").await);
    assert!(!undo("w/lost").await, "undone once");
    let queued = worker.detail(message.execution_id).await;
    assert_eq!(queued.execution.status, ExecutionStatus::Queued);

    // The handler claims it as attempt 1 and runs it once.
    let done = worker
        .deliver_to_end(&message, Duration::from_secs(30))
        .await;
    assert_eq!(
        done.execution.status,
        ExecutionStatus::Completed,
        "{:?}",
        done.execution.notes
    );
    assert_eq!(done.attempt, 1);
    assert_eq!(sink.requests().len(), 1);

    // Once ended, nothing is undone.
    assert!(!undo("w/lost").await);
}

/// A step result can commit and its answer be lost; the worker writes it again once the
/// database answers. The repeat is recorded (not taken for a lost claim, which made the reaper
/// run the execution again); a write of another attempt, or once the execution ended, is not.
#[tokio::test]
async fn a_repeated_step_result_is_recorded_and_a_stale_one_is_not() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let message = worker
        .queue(
            &[
                webhook(&sink.url("/one")),
                webhook(&sink.url("/two")),
                webhook(&sink.url("/three")),
            ],
            600,
        )
        .await;
    let claimed = claim(&worker, &message, Duration::from_secs(60)).await;
    let done = StepResult {
        succeeded: true,
        output: Some(json!(1)),
        log: None,
        error: None,
    };
    let store = &worker.store;
    assert!(
        store
            .finish_step(claimed.fence, 1, done.clone(), 2)
            .await
            .unwrap()
    );
    let first = worker.detail(message.execution_id).await;
    assert!(
        store
            .finish_step(claimed.fence, 1, done.clone(), 2)
            .await
            .unwrap(),
        "the repeat is recorded"
    );
    // ... and changed nothing.
    let again = worker.detail(message.execution_id).await;
    assert_eq!(again.steps[0].date_ended, first.steps[0].date_ended);
    assert_eq!(again.steps[1].date_started, first.steps[1].date_started);
    assert_eq!(again.steps[1].status, StepRunStatus::Running);

    // Another attempt's write of the same step is stale.
    let mut other = claimed.fence;
    other.attempt += 1;
    assert!(!store.finish_step(other, 1, done.clone(), 2).await.unwrap());
    // Once step 2 is recorded too, a repeat of step 1's write no longer matches: step 2 is
    // not Running any more.
    assert!(
        store
            .finish_step(claimed.fence, 2, done.clone(), 3)
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_step(claimed.fence, 1, done.clone(), 2)
            .await
            .unwrap()
    );
    // Once the execution ended, nothing is recorded.
    let ended = FinalOutcome::Completed;
    assert!(
        store
            .finish_execution(claimed.fence, ended, None)
            .await
            .unwrap()
    );
    assert!(!store.finish_step(claimed.fence, 2, done, 3).await.unwrap());
}
