//! How executions end when they end badly, and what those ends say in `notes`. The worker,
//! the API and every backend's reaper use these texts; none writes its own.

/// What a reaper does with an execution whose lease expired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reaped {
    /// Back to the queue for another attempt.
    Requeue,
    /// Failed, with these notes.
    Fail(String),
}

/// An expired claim: past its deadline, it fails as running out of time; after
/// `max_attempts` claims, as lost; otherwise it goes back to the queue.
pub fn reap(
    attempt: i32,
    max_attempts: i32,
    past_deadline: bool,
    max_run_time_seconds: i32,
) -> Reaped {
    if past_deadline {
        Reaped::Fail(exceeded_max_run_time(max_run_time_seconds))
    } else if attempt >= max_attempts {
        Reaped::Fail(worker_lost(attempt))
    } else {
        Reaped::Requeue
    }
}

pub fn exceeded_max_run_time(max_run_time_seconds: i32) -> String {
    format!("exceeded maxRunTime of {max_run_time_seconds} s")
}

pub fn worker_lost(attempts: i32) -> String {
    format!("worker lost: no worker finished it in {attempts} attempts")
}

/// The notes of an execution cancelled through the API.
pub const CANCELLED: &str = "cancelled";

/// The error of a step stopped without a reason of its own.
pub const STOPPED: &str = "stopped";

/// The notes of an execution whose step failed.
pub fn step_failed(step_number: i32, step_type: impl std::fmt::Display, message: &str) -> String {
    format!("step {step_number} ({step_type}) failed: {message}")
}

/// The notes of an execution whose step failed after `tries` tries; `out_of_time`: a retry was
/// due but its wait would have ended past maxRunTime. One try and no retry due reads as
/// [`step_failed`].
pub fn step_failed_after(
    step_number: i32,
    step_type: impl std::fmt::Display,
    message: &str,
    tries: u32,
    out_of_time: bool,
) -> String {
    let tried = if tries == 1 {
        "1 attempt".to_string()
    } else {
        format!("{tries} attempts")
    };
    match (tries, out_of_time) {
        (1, false) => step_failed(step_number, step_type, message),
        (_, false) => format!("step {step_number} ({step_type}) failed after {tried}: {message}"),
        (_, true) => format!(
            "step {step_number} ({step_type}) failed after {tried} (no time left within \
             maxRunTime for another): {message}"
        ),
    }
}

/// The notes of an execution whose step's result the database refused (`message` says why).
pub fn step_unstorable(step_number: i32, message: &str) -> String {
    format!("step {step_number} failed: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_name_the_attempts_made() {
        assert_eq!(
            step_failed_after(2, "Webhook", "HTTP 503", 1, false),
            "step 2 (Webhook) failed: HTTP 503"
        );
        assert_eq!(
            step_failed_after(2, "Webhook", "HTTP 503", 3, false),
            "step 2 (Webhook) failed after 3 attempts: HTTP 503"
        );
        assert_eq!(
            step_failed_after(1, "Python", "ValueError: x", 1, true),
            "step 1 (Python) failed after 1 attempt (no time left within maxRunTime for \
             another): ValueError: x"
        );
    }

    #[test]
    fn reaping_fails_past_the_deadline_or_the_attempts_and_requeues_otherwise() {
        assert_eq!(reap(1, 5, false, 60), Reaped::Requeue);
        assert_eq!(
            reap(5, 5, false, 60),
            Reaped::Fail("worker lost: no worker finished it in 5 attempts".into())
        );
        assert_eq!(
            reap(1, 5, true, 60),
            Reaped::Fail("exceeded maxRunTime of 60 s".into())
        );
    }
}
