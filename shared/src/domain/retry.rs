//! A step's retry policy (`retry` beside `settings`) and what it decides: whether a failed
//! step runs again, and after how long. Pure: the worker supplies the clock's answers and the
//! random jitter, so every decision is tested here without waiting.

use crate::domain::model::StepRunStatus;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// How often and how patiently a step is tried. Stored as its JSON, beside the step. Read
/// back leniently (a field a later release adds is ignored); requests go through
/// [`RetryPolicy::parse`], which refuses unknown fields.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Tries in all, the first included: 1 means no retry.
    #[schema(minimum = 1, maximum = 100)]
    pub max_attempts: u32,
    /// The wait before the first retry, in seconds.
    #[schema(minimum = 0, maximum = 86400)]
    pub initial_delay_seconds: f64,
    /// Each wait is this many times the one before.
    #[schema(minimum = 1, maximum = 10)]
    pub backoff_factor: f64,
    /// No wait is longer (unless the other side's `Retry-After` asks for longer).
    #[schema(minimum = 0, maximum = 86400)]
    pub max_delay_seconds: f64,
}

pub const MAX_ATTEMPTS_MAX: u32 = 100;
pub const DELAY_SECONDS_MAX: f64 = 86_400.0;
pub const BACKOFF_FACTOR_MAX: f64 = 10.0;

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_delay_seconds: 1.0,
            backoff_factor: 2.0,
            max_delay_seconds: 60.0,
        }
    }
}

/// The fields as a request gives them: each optional, defaults filled in by [`RetryPolicy::parse`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Given {
    max_attempts: Option<Value>,
    initial_delay_seconds: Option<f64>,
    backoff_factor: Option<f64>,
    max_delay_seconds: Option<f64>,
}

impl RetryPolicy {
    /// A policy from a request's `retry` object: absent fields take the defaults (3 attempts,
    /// 1 s, ×2, at most 60 s). The error names the field and the problem.
    pub fn parse(value: &Value) -> Result<Self, String> {
        // serde would also read the struct from an array of its fields' values.
        if !value.is_object() {
            return Err("must be a JSON object".into());
        }
        let given: Given = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
        let d = Self::default();
        let max_attempts = match &given.max_attempts {
            None => d.max_attempts,
            Some(Value::Number(n)) => crate::domain::step_settings::whole_number(n)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| (1..=MAX_ATTEMPTS_MAX).contains(n))
                .ok_or_else(|| {
                    format!("maxAttempts: must be a whole number from 1 to {MAX_ATTEMPTS_MAX}")
                })?,
            Some(_) => return Err("maxAttempts: must be a number".into()),
        };
        let seconds = |name: &str, v: Option<f64>, default: f64| match v {
            None => Ok(default),
            Some(s) if (0.0..=DELAY_SECONDS_MAX).contains(&s) => Ok(s),
            Some(_) => Err(format!(
                "{name}: must be between 0 and {DELAY_SECONDS_MAX} seconds"
            )),
        };
        let initial = seconds(
            "initialDelaySeconds",
            given.initial_delay_seconds,
            d.initial_delay_seconds,
        )?;
        let max = seconds(
            "maxDelaySeconds",
            given.max_delay_seconds,
            d.max_delay_seconds.max(initial),
        )?;
        if max < initial {
            return Err("maxDelaySeconds: must not be less than initialDelaySeconds".into());
        }
        let factor = given.backoff_factor.unwrap_or(d.backoff_factor);
        if !(1.0..=BACKOFF_FACTOR_MAX).contains(&factor) {
            return Err(format!(
                "backoffFactor: must be between 1 and {BACKOFF_FACTOR_MAX}"
            ));
        }
        Ok(Self {
            max_attempts,
            initial_delay_seconds: initial,
            backoff_factor: factor,
            max_delay_seconds: max,
        })
    }

    /// The wait before the retry that follows `tries` tries: the initial delay times the
    /// factor for each retry before it, at most the maximum, then jittered down by up to half
    /// (`jitter` in 0..=1 picks where), so that steps failing together do not retry together.
    pub fn delay(&self, tries: u32, jitter: f64) -> Duration {
        let exponent = i32::try_from(tries.saturating_sub(1)).unwrap_or(i32::MAX);
        let base = (self.initial_delay_seconds * self.backoff_factor.powi(exponent))
            .min(self.max_delay_seconds);
        let jittered = base * (1.0 - 0.5 * jitter.clamp(0.0, 1.0));
        Duration::from_secs_f64(jittered.max(0.0))
    }
}

/// Whether a failure may pass if the step is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retryable {
    /// The step's own settings or data are wrong, or the other side refused for good: trying
    /// again gives the same answer.
    No,
    /// A transient failure; `after` is how long the other side asked to be left alone
    /// (`Retry-After`), if it said.
    Yes { after: Option<Duration> },
}

/// What to do with a failed step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decision {
    /// Run it again after this wait.
    RetryAfter(Duration),
    /// Fail the execution; `tries` were made. `out_of_time`: a retry was due, but its wait
    /// would end past maxRunTime.
    Fail { tries: u32, out_of_time: bool },
}

/// Decides what follows a failure of a step that has now been tried `tries` times. `left` is
/// the time before maxRunTime; `jitter` a random number in 0..=1.
pub fn decide(
    policy: Option<&RetryPolicy>,
    retryable: Retryable,
    tries: u32,
    left: Duration,
    jitter: f64,
) -> Decision {
    let fail = |out_of_time| Decision::Fail { tries, out_of_time };
    let (Some(policy), Retryable::Yes { after }) = (policy, retryable) else {
        return fail(false);
    };
    if tries >= policy.max_attempts {
        return fail(false);
    }
    let wait = policy.delay(tries, jitter).max(after.unwrap_or_default());
    if wait >= left {
        return fail(true);
    }
    Decision::RetryAfter(wait)
}

/// Tries a step has had: those retried, and the one running or ended.
pub fn attempts(status: StepRunStatus, retries: i32) -> i32 {
    match status {
        StepRunStatus::Pending | StepRunStatus::Skipped => retries,
        StepRunStatus::Running | StepRunStatus::Completed | StepRunStatus::Failed => retries + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn absent_fields_take_the_defaults_and_bad_ones_are_named() {
        assert_eq!(RetryPolicy::parse(&json!({})), Ok(RetryPolicy::default()));
        let p = RetryPolicy::parse(&json!({"maxAttempts": 5, "initialDelaySeconds": 0.5})).unwrap();
        assert_eq!((p.max_attempts, p.initial_delay_seconds), (5, 0.5));
        assert_eq!(
            RetryPolicy::parse(&json!({"maxAttempts": 2.0}))
                .unwrap()
                .max_attempts,
            2
        );
        // A first wait beyond the default maximum raises the maximum with it.
        let p = RetryPolicy::parse(&json!({"initialDelaySeconds": 120})).unwrap();
        assert_eq!(p.max_delay_seconds, 120.0);
        for (bad, field) in [
            (json!({"maxAttempts": 0}), "maxAttempts"),
            (json!({"maxAttempts": 101}), "maxAttempts"),
            (json!({"maxAttempts": 1.5}), "maxAttempts"),
            (json!({"maxAttempts": "3"}), "maxAttempts"),
            (json!({"initialDelaySeconds": -1}), "initialDelaySeconds"),
            (json!({"maxDelaySeconds": 90000}), "maxDelaySeconds"),
            (
                json!({"initialDelaySeconds": 10, "maxDelaySeconds": 5}),
                "maxDelaySeconds",
            ),
            (json!({"backoffFactor": 0.5}), "backoffFactor"),
            (json!({"maxAttempt": 3}), "maxAttempt"),
            (json!([3, 1, 2, 60]), "object"),
            (json!(3), "object"),
        ] {
            let err = RetryPolicy::parse(&bad).unwrap_err();
            assert!(err.contains(field), "{bad}: {err}");
        }
    }

    #[test]
    fn waits_grow_by_the_factor_up_to_the_maximum_and_jitter_takes_off_up_to_half() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_delay_seconds: 1.0,
            backoff_factor: 2.0,
            max_delay_seconds: 5.0,
        };
        let secs = |tries, jitter| p.delay(tries, jitter).as_secs_f64();
        assert_eq!(secs(1, 0.0), 1.0);
        assert_eq!(secs(2, 0.0), 2.0);
        assert_eq!(secs(3, 0.0), 4.0);
        assert_eq!(secs(4, 0.0), 5.0);
        assert_eq!(secs(30, 0.0), 5.0);
        assert_eq!(secs(2, 1.0), 1.0);
        assert_eq!(secs(2, 0.5), 1.5);
    }

    #[test]
    fn only_transient_failures_of_steps_with_a_policy_and_tries_left_are_retried() {
        let p = RetryPolicy::default();
        let transient = Retryable::Yes { after: None };
        assert_eq!(
            decide(Some(&p), transient, 1, HOUR, 0.0),
            Decision::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(
            decide(Some(&p), transient, 2, HOUR, 0.0),
            Decision::RetryAfter(Duration::from_secs(2))
        );
        let exhausted = Decision::Fail {
            tries: 3,
            out_of_time: false,
        };
        assert_eq!(decide(Some(&p), transient, 3, HOUR, 0.0), exhausted);
        let once = Decision::Fail {
            tries: 1,
            out_of_time: false,
        };
        assert_eq!(decide(None, transient, 1, HOUR, 0.0), once);
        assert_eq!(decide(Some(&p), Retryable::No, 1, HOUR, 0.0), once);
    }

    #[test]
    fn retry_after_lengthens_the_wait_and_max_run_time_bounds_it() {
        let p = RetryPolicy::default();
        let asked = Retryable::Yes {
            after: Some(Duration::from_secs(30)),
        };
        assert_eq!(
            decide(Some(&p), asked, 1, HOUR, 0.0),
            Decision::RetryAfter(Duration::from_secs(30))
        );
        assert_eq!(
            decide(Some(&p), asked, 1, Duration::from_secs(10), 0.0),
            Decision::Fail {
                tries: 1,
                out_of_time: true
            }
        );
    }
}
