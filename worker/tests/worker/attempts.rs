//! Attempts reflect work: an execution whose next step is Python is claimed, and charged an
//! attempt, only while the worker holds fewer than two Python executions per runner (the one
//! running and the one next).

use crate::helpers::{TestWorker, python};
use actuate_shared::domain::model::ExecutionStatus;
use actuate_worker::handler::{self, Disposition};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn waiting_for_a_runner_is_not_an_attempt() {
    let worker = TestWorker::start_with(|s| s.python.size = 1).await;
    let busy = worker
        .queue(&[python("import time\ntime.sleep(1.5)\nresult = 1")], 60)
        .await;
    assert_eq!(busy.next_step_type.as_deref(), Some("Python"));
    worker
        .deliver_until(&busy, ExecutionStatus::Running, WAIT)
        .await;

    // One more is claimed to follow it on the only runner (so the runner never idles through
    // a claim's round trip)...
    let ahead = worker.queue(&[python("result = 3")], 60).await;
    assert_eq!(worker.deliver(&ahead.to_bytes()).await, Disposition::Ack);
    assert_eq!(worker.detail(ahead.execution_id).await.attempt, 1);

    // ...and the next Python execution waits unclaimed, its message unsettled.
    let waiting = worker.queue(&[python("result = 2")], 60).await;
    let stop = CancellationToken::new();
    let delivery = {
        let (ctx, stop, body) = (worker.ctx.clone(), stop.clone(), waiting.to_bytes());
        tokio::spawn(async move {
            let permit = ctx.slots.clone().acquire_owned().await.unwrap();
            handler::handle(&ctx, &body, None, permit, &stop).await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let detail = worker.detail(waiting.execution_id).await;
    assert_eq!(detail.execution.status, ExecutionStatus::Queued);
    assert_eq!(detail.attempt, 0, "not charged while it waits");

    // The worker stops (or dies) before a runner frees: the message goes back, still uncharged.
    stop.cancel();
    assert_eq!(delivery.await.unwrap(), Disposition::Requeue);
    assert_eq!(worker.detail(waiting.execution_id).await.attempt, 0);

    // Delivered again, it runs once the runner is free, at its first attempt.
    let done = worker
        .deliver_until(&waiting, ExecutionStatus::Completed, WAIT)
        .await;
    assert_eq!(done.attempt, 1);
    for id in [busy.execution_id, ahead.execution_id] {
        let done = worker
            .wait_status(id, ExecutionStatus::Completed, WAIT)
            .await;
        assert_eq!(done.attempt, 1);
    }
}

#[tokio::test]
async fn a_message_names_the_step_a_claim_would_start() {
    let worker = TestWorker::start().await;
    let webhook_first = worker
        .queue(
            &[
                (
                    actuate_shared::domain::model::StepType::Webhook,
                    serde_json::json!({"url": "http://127.0.0.1:9/x"}),
                ),
                python("result = 1"),
            ],
            60,
        )
        .await;
    assert_eq!(webhook_first.next_step_type.as_deref(), Some("Webhook"));
    let python_first = worker.queue(&[python("result = 1")], 60).await;
    assert_eq!(
        python_first.next_step(),
        Some(actuate_shared::domain::model::StepType::Python)
    );
}

#[tokio::test]
async fn a_requeued_execution_names_the_step_it_resumes_at() {
    use actuate_shared::storage::{ClaimOutcome, StepResult};
    let worker = TestWorker::start().await;
    let message = worker
        .queue(
            &[
                (
                    actuate_shared::domain::model::StepType::Webhook,
                    serde_json::json!({"url": "http://127.0.0.1:9/x"}),
                ),
                python("result = 1"),
            ],
            600,
        )
        .await;
    let lease = Duration::from_millis(200);
    let ClaimOutcome::Claimed(claimed) = worker
        .store
        .claim_execution(worker.scope, message.execution_id, "doomed", lease)
        .await
        .unwrap()
    else {
        panic!("not claimed")
    };
    let done = StepResult {
        succeeded: true,
        output: Some(serde_json::json!(1)),
        log: None,
        error: None,
    };
    assert!(
        worker
            .store
            .finish_step(claimed.fence, 1, done, 2)
            .await
            .unwrap()
    );
    tokio::time::sleep(lease * 2).await;

    // A database that has not been up for a lease yet (here: for 30 years) is not reaped from:
    // nobody could renew a lease while it was down.
    let too_soon = Duration::from_secs(30 * 365 * 24 * 3600);
    let report = worker.store.reap_expired(3, too_soon, 100).await.unwrap();
    assert_eq!((report.requeued, report.failed), (0, 0));

    let report = worker
        .store
        .reap_expired(3, Duration::ZERO, 100)
        .await
        .unwrap();
    assert_eq!(report.requeued, 1);
    let leased = worker
        .store
        .lease_outbox(10, Duration::from_secs(30))
        .await
        .unwrap();
    let requeued: Vec<_> = leased
        .iter()
        .filter(|item| item.message.execution_id == message.execution_id)
        .collect();
    assert_eq!(requeued.len(), 1);
    assert_eq!(
        requeued[0].message.next_step_type.as_deref(),
        Some("Python")
    );
}
