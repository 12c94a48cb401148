//! The core of the worker: one delivered message in, a decision about it out. No AMQP types
//! here, so tests drive it directly; `consumer.rs` turns the [`Disposition`] into an ack or a
//! nack, and nothing else decides that.
//!
//! An execution is claimed (and charged an attempt) only when its next step can start soon:
//! the message names that step's type, and for a Python step the handler first waits for a
//! place among the executions the runners will take next. The message is acknowledged right
//! after the claim commits: from then on the database (lease, heartbeats, reaper) keeps the
//! execution safe, so a long execution never holds a delivery open and RabbitMQ's consumer
//! timeout never redelivers it.

use crate::context::WorkerContext;
use crate::executor;
use actuate_shared::domain::model::{ExecutionStatus, StepType};
use actuate_shared::message::ExecuteMessage;
use actuate_shared::runtime::Backoff;
use actuate_shared::storage::ClaimOutcome;
use actuate_shared::telemetry;
use std::sync::Arc;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

#[derive(Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Done with the message: claimed (and now running), or a duplicate.
    Ack,
    /// The message can never be processed: send it to the dead-letter queue.
    DeadLetter(String),
    /// Not processed now (shutting down while the database was unreachable): deliver again.
    Requeue,
}

/// Claims the execution named by `body` and, when the claim succeeds, starts running it on
/// `permit` (held until the execution ends). Retries the claim while the database is
/// unreachable, until `stop`.
pub async fn handle(
    ctx: &Arc<WorkerContext>,
    body: &[u8],
    trace_parent: Option<&str>,
    permit: OwnedSemaphorePermit,
    stop: &CancellationToken,
) -> Disposition {
    let message = match ExecuteMessage::from_bytes(body) {
        Ok(m) => m,
        Err(e) => {
            let preview = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            tracing::error!(error = %e, body = %preview, "unparseable message; dead-lettering");
            metrics::counter!("actuate_messages_dead_lettered_total").increment(1);
            return Disposition::DeadLetter(format!("unparseable message: {e}"));
        }
    };
    // Claiming charges an attempt, so an execution whose next step is Python is claimed only
    // once a runner can take it now or right after its current step (`PythonPool::reserve`).
    // Until then its message stays unacknowledged: if this worker dies meanwhile, the message
    // returns to the queue and nothing was charged.
    let runner = match message.next_step() {
        Some(StepType::Python) => tokio::select! {
            reserved = ctx.steps.reserve_python_runner() => Some(reserved),
            () = stop.cancelled() => return Disposition::Requeue,
        },
        _ => None,
    };
    // The lease owner names this claim, not only this worker: a claim that committed while its
    // answer was lost to a database outage is then recognisably ours and undone (see below).
    let owner = format!("{}/{}", ctx.settings.worker_id, claim_tag());
    let mut backoff = Backoff::standard();
    let mut unanswered = false;
    let outcome = loop {
        let claimed = ctx
            .store
            .claim_execution(
                message.scope(),
                message.execution_id,
                &owner,
                ctx.settings.lease,
            )
            .await;
        let error = match claimed {
            // An earlier try may have committed without answering: the execution is then
            // Running under this very claim with nobody running it. Give the attempt back and
            // claim again, rather than leave it to the reaper as a lost worker's re-run.
            Ok(ClaimOutcome::NotQueued(ExecutionStatus::Running)) if unanswered => {
                match ctx
                    .store
                    .undo_unanswered_claim(message.scope(), message.execution_id, &owner)
                    .await
                {
                    Ok(true) => {
                        tracing::info!(execution_id = %message.execution_id, "a claim whose answer was lost is undone; claiming again");
                        unanswered = false;
                        continue;
                    }
                    Ok(false) => break ClaimOutcome::NotQueued(ExecutionStatus::Running),
                    Err(e) => e,
                }
            }
            Ok(outcome) => break outcome,
            Err(e) => {
                unanswered = true;
                e
            }
        };
        ctx.reachability.failed();
        tracing::warn!(%error, execution_id = %message.execution_id, "claim failed; retrying");
        tokio::select! {
            () = backoff.wait() => {},
            () = stop.cancelled() => return Disposition::Requeue,
        }
    };
    match outcome {
        ClaimOutcome::Claimed(claimed) => {
            tracing::info!(
                execution_id = %message.execution_id,
                attempt = claimed.fence.attempt,
                "execution claimed"
            );
            metrics::counter!("actuate_executions_claimed_total").increment(1);
            // Each claim is a span in the trace of the request that created the execution.
            let span = tracing::info_span!(
                "execution",
                execution_id = %message.execution_id,
                attempt = claimed.fence.attempt,
                trace_id = tracing::field::Empty,
            );
            telemetry::continue_trace(&span, trace_parent);
            let ctx = ctx.clone();
            ctx.running.clone().spawn(
                async move {
                    executor::run(&ctx, claimed, runner).await;
                    drop(permit);
                }
                .instrument(span),
            );
            Disposition::Ack
        }
        ClaimOutcome::Waiting => {
            tracing::debug!(execution_id = %message.execution_id, "waits for a concurrency slot or its time");
            metrics::counter!("actuate_executions_waiting_total").increment(1);
            Disposition::Ack
        }
        ClaimOutcome::NotQueued(status) => {
            tracing::info!(execution_id = %message.execution_id, %status, "duplicate delivery dropped");
            metrics::counter!("actuate_messages_duplicate_total").increment(1);
            Disposition::Ack
        }
        ClaimOutcome::Unknown => {
            tracing::error!(
                execution_id = %message.execution_id,
                tenant_id = %message.tenant_id,
                "message names no execution; dead-lettering"
            );
            metrics::counter!("actuate_messages_dead_lettered_total").increment(1);
            Disposition::DeadLetter("unknown execution".into())
        }
    }
}

/// Sixteen random hex digits telling this claim from every other claim of this worker.
fn claim_tag() -> String {
    format!("{:016x}", rand::random::<u64>())
}
