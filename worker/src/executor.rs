//! Runs one claimed execution: its steps in `stepNumber` order, bounded by maxRunTime,
//! stoppable by cancel, kept alive by heartbeats, and released on shutdown. Every write is
//! fenced by the claim, so if the execution was cancelled, reaped or taken over meanwhile,
//! nothing this worker writes lands.

use crate::context::WorkerContext;
use crate::durable::{self, WriteError};
use crate::python::Reservation;
use crate::steps::{self, StepContext, StepFailure, StepSuccess};
use actuate_shared::domain::model::StepType;
use actuate_shared::domain::policy::outcome;
use actuate_shared::domain::retry::{self, Decision, Retryable};
use actuate_shared::domain::storable;
use actuate_shared::storage::{ClaimedExecution, Fence, FinalOutcome, FinalStep, StepResult};
use std::collections::BTreeMap;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Time a retry needs beyond its wait to be running again: the release tick, the queue, a
/// claim. A wait that leaves less before maxRunTime is not made: the retry would be claimed
/// past the deadline and fail as out of time, hiding the step's own error.
const RETRY_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Why an execution ended before all its steps completed.
enum Stop {
    /// A step failed or maxRunTime passed: the execution fails with these notes, and the
    /// failed step's result is recorded with it.
    Failed(String, Option<FinalStep>),
    /// Cancelled by the API, or the claim was lost (reaped, taken over): someone else owns the
    /// outcome, so this worker writes nothing more.
    Gone,
    /// Shutdown grace is over: hand the execution to another worker.
    Release,
    /// A step failed and will run again after this wait (its `tries` so far): the execution
    /// waits in the store, and any worker takes it up then.
    Retry {
        wait: std::time::Duration,
        tries: u32,
    },
}

/// `runner`: a Python runner reserved before the claim, for the first step to run (when it is
/// a Python step; otherwise it is freed at once).
pub async fn run(ctx: &WorkerContext, claimed: ClaimedExecution, runner: Option<Reservation>) {
    let fence = claimed.fence;
    let started = std::time::Instant::now();
    let registration = ctx.cancellations.register(fence.execution_id);
    let stopped = registration.token.clone();
    let deadline = Instant::now() + claimed.remaining;

    // The heartbeat runs beside the steps and ends with them (it only ever sleeps or renews).
    let outcome = tokio::select! {
        outcome = run_steps(ctx, &claimed, deadline, &stopped, runner) => outcome,
        () = heartbeat(ctx, fence, stopped.clone()) => Err(Stop::Gone),
    };

    let written = match outcome {
        Ok(last) => finish(ctx, fence, FinalOutcome::Completed, last).await,
        Err(Stop::Failed(notes, step)) => {
            finish(ctx, fence, FinalOutcome::Failed { notes }, step).await
        }
        Err(Stop::Release) => match ctx.store.release_execution(fence).await {
            Ok(released) => {
                if released {
                    ctx.relay.wake();
                    tracing::info!(execution_id = %fence.execution_id, "released for another worker");
                }
                released
            }
            Err(e) => {
                // The lease runs out and a reaper re-queues it.
                tracing::warn!(error = %e, execution_id = %fence.execution_id, "release failed");
                false
            }
        },
        Err(Stop::Retry { wait, tries }) => {
            tracing::info!(execution_id = %fence.execution_id, tries, wait_ms = wait.as_millis() as u64, "step failed; retrying after the wait");
            metrics::counter!("actuate_step_retries_total").increment(1);
            false
        }
        Err(Stop::Gone) => false,
    };
    if written {
        metrics::histogram!("actuate_execution_duration_seconds")
            .record(started.elapsed().as_secs_f64());
    }
}

async fn finish(
    ctx: &WorkerContext,
    fence: Fence,
    mut outcome: FinalOutcome,
    mut last_step: Option<FinalStep>,
) -> bool {
    // Retried through a database outage (see `durable.rs`). A refusal of the data itself is
    // not retried: the step's result is replaced by the reason it could not be stored, once.
    let mut replaced = false;
    loop {
        let label = match &outcome {
            FinalOutcome::Completed => "Completed",
            FinalOutcome::Failed { .. } => "Failed",
        };
        let written = durable::write(ctx, fence.execution_id, "finish", || {
            ctx.store
                .finish_execution(fence, outcome.clone(), last_step.clone())
        })
        .await;
        match written {
            Ok(true) => {
                tracing::info!(execution_id = %fence.execution_id, status = label, "execution finished");
                metrics::counter!("actuate_executions_finished_total", "status" => label)
                    .increment(1);
                return true;
            }
            Ok(false) => {
                tracing::info!(execution_id = %fence.execution_id, "execution was ended elsewhere");
                return false;
            }
            Err(WriteError::Data(e)) => {
                let Some(step) = last_step
                    .as_ref()
                    .filter(|s| !replaced && !is_bare(&s.result))
                else {
                    tracing::error!(error = %e, execution_id = %fence.execution_id, "the outcome cannot be stored");
                    return false;
                };
                tracing::warn!(error = %e, execution_id = %fence.execution_id, "a step's result cannot be stored; recording why instead");
                let (notes, result) = unstorable(step.step_number, &e);
                outcome = FinalOutcome::Failed { notes };
                last_step = Some(FinalStep {
                    step_number: step.step_number,
                    result,
                });
                replaced = true;
            }
            Err(WriteError::GaveUp(_)) => return false,
        }
    }
}

/// A failed result holding only an error message: nothing of the step's own data.
fn is_bare(result: &StepResult) -> bool {
    result.output.is_none() && result.log.is_none()
}

/// The notes and step result recorded when the database refused a step's result.
fn unstorable(
    step_number: i32,
    error: &actuate_shared::storage::StoreError,
) -> (String, StepResult) {
    let message = storable::text(
        &format!("its result could not be stored: {error}"),
        storable::MAX_MESSAGE_BYTES,
    );
    (
        outcome::step_unstorable(step_number, &message),
        failed(&message),
    )
}

/// Runs the steps not completed by an earlier attempt. The claim marked the first of them
/// Running, and recording each result marks the next one Running; the result of the step that
/// ends the execution (the last one, or the one that failed) is returned rather than written,
/// so that `finish` records it with the outcome in one commit.
async fn run_steps(
    ctx: &WorkerContext,
    claimed: &ClaimedExecution,
    deadline: Instant,
    stopped: &CancellationToken,
    mut runner: Option<Reservation>,
) -> Result<Option<FinalStep>, Stop> {
    let fence = claimed.fence;
    let exceeded = || outcome::exceeded_max_run_time(claimed.max_run_time);
    let mut outputs = BTreeMap::new();
    let mut pending = Vec::new();
    for step in &claimed.steps {
        match &step.completed_output {
            Some(output) => {
                outputs.insert(step.step_number, output.clone());
            }
            None => pending.push(step),
        }
    }
    for (i, step) in pending.iter().enumerate() {
        let ended = |result| FinalStep {
            step_number: step.step_number,
            result,
        };
        // The step is already Running (started with the claim or the previous result): past
        // the deadline it fails with the execution.
        let out_of_time = || {
            let notes = exceeded();
            let step = ended(failed(&notes));
            Stop::Failed(notes, Some(step))
        };
        if Instant::now() >= deadline {
            return Err(out_of_time());
        }
        let context = StepContext {
            execution: claimed,
            outputs: &outputs,
        };
        // The reservation serves the first step only, and only a Python one.
        let reserved = runner.take().filter(|_| step.step_type == StepType::Python);
        let started = std::time::Instant::now();
        // A span per step, under the execution's: a webhook carries it as its traceparent.
        let span = tracing::info_span!(
            "step",
            step_number = step.step_number,
            step_type = step.step_type.as_str(),
            step_id = %step.step_id,
        );
        let result = tokio::select! {
            r = steps::run(&ctx.steps, step, &context, reserved).instrument(span) => r,
            () = tokio::time::sleep_until(deadline) => return Err(out_of_time()),
            () = stopped.cancelled() => return Err(Stop::Gone),
            () = ctx.abandon.cancelled() => return Err(Stop::Release),
        };
        metrics::histogram!("actuate_step_duration_seconds", "type" => step.step_type.as_str())
            .record(started.elapsed().as_secs_f64());
        match recordable(result) {
            Ok((recorded, output)) => {
                let Some(next) = pending.get(i + 1) else {
                    return Ok(Some(ended(recorded)));
                };
                let written = durable::write(ctx, fence.execution_id, "step result", || {
                    ctx.store.finish_step(
                        fence,
                        step.step_number,
                        recorded.clone(),
                        next.step_number,
                    )
                })
                .await;
                match written {
                    Ok(true) => {}
                    Err(WriteError::Data(e)) => {
                        let (notes, result) = unstorable(step.step_number, &e);
                        return Err(Stop::Failed(notes, Some(ended(result))));
                    }
                    // Fenced out (cancelled, reaped), or the database stayed unreachable past
                    // the grace: a reaper hands the execution to another attempt.
                    Ok(false) => {
                        tracing::info!(execution_id = %fence.execution_id, step = step.step_number, "step result not recorded: the claim is no longer ours; stopping");
                        return Err(Stop::Gone);
                    }
                    Err(WriteError::GaveUp(_)) => return Err(Stop::Gone),
                }
                outputs.insert(step.step_number, output);
            }
            Err(failure) => {
                let (message, recorded, retryable) = *failure;
                let tries = u32::try_from(step.retries).unwrap_or(0) + 1;
                let left = deadline
                    .saturating_duration_since(Instant::now())
                    .saturating_sub(RETRY_MARGIN);
                let jitter: f64 = rand::random();
                match retry::decide(step.retry.as_ref(), retryable, tries, left, jitter) {
                    Decision::RetryAfter(wait) => {
                        return Err(hold_for_retry(
                            ctx,
                            fence,
                            step.step_number,
                            recorded,
                            wait,
                            tries,
                        )
                        .await);
                    }
                    Decision::Fail { tries, out_of_time } => {
                        let notes = outcome::step_failed_after(
                            step.step_number,
                            step.step_type,
                            &message,
                            tries,
                            out_of_time,
                        );
                        return Err(Stop::Failed(notes, Some(ended(recorded))));
                    }
                }
            }
        }
    }
    Ok(None)
}

/// Records a failed try that will run again and hands the execution back to the store, held
/// until the wait is over (see `WorkStore::retry_step`).
async fn hold_for_retry(
    ctx: &WorkerContext,
    fence: Fence,
    step_number: i32,
    recorded: StepResult,
    wait: std::time::Duration,
    tries: u32,
) -> Stop {
    let written = durable::write(ctx, fence.execution_id, "retry", || {
        ctx.store
            .retry_step(fence, step_number, recorded.clone(), wait)
    })
    .await;
    match written {
        Ok(true) => Stop::Retry { wait, tries },
        Err(WriteError::Data(e)) => {
            let (notes, result) = unstorable(step_number, &e);
            Stop::Failed(
                notes,
                Some(FinalStep {
                    step_number,
                    result,
                }),
            )
        }
        Ok(false) | Err(WriteError::GaveUp(_)) => Stop::Gone,
    }
}

/// A failed step as it will be stored: why, the result, and whether trying again may help
/// (boxed: the rare path should not size every result).
type Failure = Box<(String, StepResult, Retryable)>;

/// A step's outcome as it will be stored (see [`storable`]): a success whose output cannot be
/// stored becomes a failure saying why; logs and messages lose NUL and are cut to size.
/// `Ok` carries the output again for the steps after this one.
fn recordable(
    result: Result<StepSuccess, StepFailure>,
) -> Result<(StepResult, serde_json::Value), Failure> {
    let log = |log: Option<String>| log.map(|l| storable::text(&l, storable::MAX_LOG_BYTES));
    match result {
        Ok(success) => match storable::check_output(&success.output) {
            Ok(()) => Ok((
                StepResult {
                    succeeded: true,
                    output: Some(success.output.clone()),
                    log: log(success.log),
                    error: None,
                },
                success.output,
            )),
            Err(why) => Err(Box::new((
                why.clone(),
                StepResult {
                    succeeded: false,
                    output: None,
                    log: log(success.log),
                    error: Some(why),
                },
                Retryable::No,
            ))),
        },
        Err(failure) => {
            let message = storable::text(&failure.message, storable::MAX_MESSAGE_BYTES);
            let output = failure.output.filter(|o| storable::check_output(o).is_ok());
            Err(Box::new((
                message.clone(),
                StepResult {
                    succeeded: false,
                    output,
                    log: log(failure.log),
                    error: Some(message),
                },
                failure.retryable,
            )))
        }
    }
}

fn failed(message: &str) -> StepResult {
    StepResult {
        succeeded: false,
        output: None,
        log: None,
        error: Some(message.to_string()),
    }
}

/// Renews the lease every third of it; fires `stopped` when the claim is gone (cancelled,
/// reaped). While the database is unreachable it retries every second at most, so the lease
/// is renewed as soon as the database is back (reapers wait a lease of reachability before
/// taking a claim); unreachable past the lease and `ACTUATE_DB_OUTAGE_GRACE`, the worker gives
/// the execution up.
async fn heartbeat(ctx: &WorkerContext, fence: Fence, stopped: CancellationToken) {
    let lease = ctx.settings.lease;
    let mut backoff = durable::outage_backoff();
    let mut failing_since: Option<Instant> = None;
    let mut wait = lease / 3;
    loop {
        tokio::time::sleep(wait).await;
        match ctx.store.heartbeat(fence, lease).await {
            Ok(true) => {
                if failing_since.take().is_some() {
                    tracing::info!(execution_id = %fence.execution_id, "lease renewed after the database came back");
                }
                backoff.reset();
                wait = lease / 3;
            }
            Ok(false) => {
                tracing::info!(execution_id = %fence.execution_id, "claim lost; stopping");
                stopped.cancel();
                return;
            }
            Err(e) => {
                ctx.reachability.failed();
                let since = *failing_since.get_or_insert_with(|| {
                    tracing::warn!(error = %e, execution_id = %fence.execution_id, "heartbeat failed; retrying");
                    Instant::now()
                });
                if since.elapsed() >= durable::patience(ctx) {
                    tracing::error!(execution_id = %fence.execution_id, "database unreachable past the outage grace; leaving the execution to another attempt");
                    stopped.cancel();
                    return;
                }
                wait = backoff.next_delay();
            }
        }
    }
}
