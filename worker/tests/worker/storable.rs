//! Anything a step produces is stored, or fails that step with a note: never a write retried
//! without end.

use crate::helpers::{TestWorker, python};
use actuate_shared::domain::model::{ExecutionStatus, StepRunStatus};
use actuate_shared::domain::storable::{MAX_MESSAGE_BYTES, MAX_OUTPUT_BYTES};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn an_output_holding_nul_fails_its_step_with_a_note_at_once() {
    let worker = TestWorker::start().await;
    // In a middle step (its result is written with the next step's start) and in the last.
    for steps in [
        vec![
            python("result = {'data': b'a\\x00b'.decode()}"),
            python("result = 'next'"),
        ],
        vec![
            python("result = 1"),
            python("result = ['ok', {'k': '\\x00'}]"),
        ],
    ] {
        let last = steps.len();
        let message = worker.queue(&steps, 60).await;
        let detail = worker.deliver_to_end(&message, WAIT).await;
        assert_eq!(
            detail.execution.status,
            ExecutionStatus::Failed,
            "{detail:?}"
        );
        let notes = detail.execution.notes.clone().unwrap();
        assert!(notes.contains("holds a NUL character"), "{notes}");
        assert!(
            notes.contains("output.data") || notes.contains("output[1].k"),
            "{notes}"
        );
        let failed = detail
            .steps
            .iter()
            .find(|s| s.status == StepRunStatus::Failed)
            .unwrap();
        assert!(
            failed.error.as_deref().unwrap().contains("NUL"),
            "{failed:?}"
        );
        assert!(failed.output.is_none());
        if last == 2 && failed.step_number == 1 {
            assert_eq!(detail.steps[1].status, StepRunStatus::Skipped);
        }
    }
}

#[tokio::test]
async fn nul_in_logs_and_messages_is_kept_visible_and_long_messages_are_cut() {
    let worker = TestWorker::start().await;
    let message = worker
        .queue(&[python("print('before\\x00after')\nresult = 'done'")], 60)
        .await;
    let detail = worker.deliver_to_end(&message, WAIT).await;
    assert_eq!(
        detail.execution.status,
        ExecutionStatus::Completed,
        "{detail:?}"
    );
    assert_eq!(
        detail.steps[0].log.as_deref(),
        Some("before\u{FFFD}after\n")
    );

    let message = worker
        .queue(&[python("raise ValueError('\\x00' + 'x' * 1_000_000)")], 60)
        .await;
    let detail = worker.deliver_to_end(&message, WAIT).await;
    let notes = detail.execution.notes.unwrap();
    assert!(
        notes.starts_with("step 1 (Python) failed: ValueError: \u{FFFD}xxx"),
        "{}",
        &notes[..80]
    );
    assert!(notes.len() < MAX_MESSAGE_BYTES + 200, "{}", notes.len());
    assert!(
        notes.ends_with("more bytes]"),
        "{}",
        &notes[notes.len() - 80..]
    );
}

#[tokio::test]
async fn an_output_past_the_size_limit_fails_its_step() {
    let worker = TestWorker::start().await;
    let code = format!("result = 'x' * {}", MAX_OUTPUT_BYTES + 1);
    let message = worker.queue(&[python(&code)], 60).await;
    let detail = worker.deliver_to_end(&message, WAIT).await;
    assert_eq!(detail.execution.status, ExecutionStatus::Failed);
    let notes = detail.execution.notes.unwrap();
    assert!(notes.contains("may be at most"), "{notes}");
    // Just under it is stored.
    let code = format!("result = 'x' * {}", MAX_OUTPUT_BYTES - 10);
    let message = worker.queue(&[python(&code)], 60).await;
    let detail = worker.deliver_to_end(&message, WAIT).await;
    assert_eq!(
        detail.execution.status,
        ExecutionStatus::Completed,
        "{:?}",
        detail.execution
    );
    assert_eq!(
        detail.steps[0]
            .output
            .as_ref()
            .map(|o| o.as_str().unwrap().len()),
        Some(MAX_OUTPUT_BYTES - 10)
    );
}
