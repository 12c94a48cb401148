use crate::helpers::{TestWorker, webhook};
use actuate_shared::domain::model::{ExecutionStatus, StepRunStatus, StepType};
use actuate_shared::message::ExecuteMessage;
use actuate_tests::sink::Sink;
use actuate_worker::handler::Disposition;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_webhook_step_runs_and_the_execution_completes() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let message = worker
        .queue(
            &[(
                StepType::Webhook,
                json!({"url": sink.url("/hook"), "method": "PUT", "headers": {"X-Team": "ops"},
                       "body": {"hello": "world"}}),
            )],
            60,
        )
        .await;

    assert_eq!(worker.deliver(&message.to_bytes()).await, Disposition::Ack);
    let detail = worker
        .wait_status(message.execution_id, ExecutionStatus::Completed, WAIT)
        .await;
    assert_eq!(detail.execution.notes, None);
    assert!(detail.execution.date_ended.is_some());
    assert_eq!(detail.attempt, 1);
    let step = &detail.steps[0];
    assert_eq!(step.status, StepRunStatus::Completed);
    assert_eq!(step.output.as_ref().unwrap()["status"], 200);
    assert_eq!(step.output.as_ref().unwrap()["body"], json!({"ok": true}));

    let requests = sink.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "PUT");
    assert_eq!(request.path, "/hook");
    assert_eq!(request.header("x-team"), Some("ops"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.header("x-actuate-execution-id"),
        Some(message.execution_id.to_string().as_str())
    );
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body, json!({"hello": "world"}));
}

#[tokio::test]
async fn a_non_2xx_answer_fails_the_execution_with_notes() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let message = worker
        .queue(
            &[
                webhook(&sink.url("/first")),
                webhook(&sink.url("/status/503")),
                webhook(&sink.url("/never")),
            ],
            60,
        )
        .await;
    let detail = worker
        .deliver_until(&message, ExecutionStatus::Failed, WAIT)
        .await;
    let notes = detail.execution.notes.unwrap();
    assert!(
        notes.starts_with("step 2 (Webhook) failed: HTTP 503 Service Unavailable"),
        "{notes}"
    );
    assert!(
        notes.contains("as requested"),
        "the answer's body is quoted: {notes}"
    );
    let statuses: Vec<_> = detail.steps.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        vec![
            StepRunStatus::Completed,
            StepRunStatus::Failed,
            StepRunStatus::Skipped
        ]
    );
    assert_eq!(detail.steps[1].output.as_ref().unwrap()["status"], 503);
    assert!(detail.steps[1].error.as_ref().unwrap().contains("503"));
    let paths: Vec<_> = sink.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        vec!["/first", "/status/503"],
        "later steps do not run"
    );
}

#[tokio::test]
async fn the_same_message_delivered_five_times_runs_once() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let message = worker.queue(&[webhook(&sink.url("/once"))], 60).await;
    for _ in 0..5 {
        assert_eq!(worker.deliver(&message.to_bytes()).await, Disposition::Ack);
    }
    worker.idle(WAIT).await;
    worker
        .wait_status(message.execution_id, ExecutionStatus::Completed, WAIT)
        .await;
    // And five at once.
    let second = worker.queue(&[webhook(&sink.url("/burst"))], 60).await;
    let bytes = second.to_bytes();
    let mut deliveries = Vec::new();
    for _ in 0..5 {
        deliveries.push(worker.deliver(&bytes));
    }
    for disposition in futures_util::future::join_all(deliveries).await {
        assert_eq!(disposition, Disposition::Ack);
    }
    worker.idle(WAIT).await;
    let detail = worker
        .wait_status(second.execution_id, ExecutionStatus::Completed, WAIT)
        .await;
    assert_eq!(detail.attempt, 1, "claimed once");
    let paths: Vec<_> = sink.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        vec!["/once", "/burst"],
        "each execution ran exactly once"
    );
}

#[tokio::test]
async fn unparseable_and_unknown_messages_are_dead_lettered() {
    let worker = TestWorker::start().await;
    for junk in [&b"not json"[..], b"{}", b"{\"executionId\": 5}", b""] {
        match worker.deliver(junk).await {
            Disposition::DeadLetter(reason) => assert!(reason.contains("unparseable"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
    let unknown = ExecuteMessage {
        tenant_id: worker.scope.tenant_id,
        project_id: worker.scope.project_id,
        execution_id: actuate_shared::domain::ids::ExecutionId::new(),
        next_step_type: None,
        trace_parent: None,
    };
    assert_eq!(
        worker.deliver(&unknown.to_bytes()).await,
        Disposition::DeadLetter("unknown execution".into())
    );
    // An execution of another tenant is unknown to a message naming the wrong tenant.
    let sink = Sink::start().await;
    let real = worker.queue(&[webhook(&sink.url("/x"))], 60).await;
    let forged = ExecuteMessage {
        tenant_id: actuate_shared::domain::ids::TenantId::new(),
        ..real
    };
    assert!(matches!(
        worker.deliver(&forged.to_bytes()).await,
        Disposition::DeadLetter(_)
    ));
    assert!(sink.requests().is_empty());
}

#[tokio::test]
async fn outputs_of_earlier_steps_and_input_reach_later_steps_context() {
    // The webhook step does not template yet; what it can show is that step outputs are
    // recorded in order and survive into the execution's detail for later steps to read.
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let message = worker
        .queue(
            &[webhook(&sink.url("/a")), webhook(&sink.url("/big/100000"))],
            60,
        )
        .await;
    let detail = worker
        .deliver_until(&message, ExecutionStatus::Completed, WAIT)
        .await;
    assert_eq!(detail.input, Some(json!({"customer": "ACME"})));
    let big = detail.steps[1].output.as_ref().unwrap();
    assert_eq!(big["truncated"], true, "large bodies are capped");
    assert_eq!(big["body"].as_str().unwrap().len(), 64 * 1024);
}

#[tokio::test]
async fn a_python_step_without_code_or_script_fails_with_a_clear_note() {
    let worker = TestWorker::start().await;
    let message = worker.queue(&[(StepType::Python, json!({}))], 60).await;
    let detail = worker
        .deliver_until(&message, ExecutionStatus::Failed, WAIT)
        .await;
    assert_eq!(
        detail.execution.notes.as_deref(),
        Some(
            "step 1 (Python) failed: the step has neither \"code\" nor \"script\" in its settings"
        )
    );
}
