//! When a new execution may start: at once, or no earlier than a time the caller asked for
//! (`runAt`, or `delaySeconds` from now). A time already past means at once, so an execution
//! is held only when there is something to wait for.

use chrono::{DateTime, Utc};

/// The furthest ahead a run may be asked for: a year.
pub const MAX_DELAY_SECONDS: i64 = 365 * 24 * 3600;

/// Which request field a problem is about, and what is wrong, for a 400.
pub type Problem = (&'static str, String);

/// The time to hold a new execution until, or `None` to start it at once.
pub fn not_before(
    run_at: Option<DateTime<Utc>>,
    delay_seconds: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Problem> {
    let (field, at) = match (run_at, delay_seconds) {
        (Some(_), Some(_)) => {
            return Err((
                "delaySeconds",
                "give either runAt or delaySeconds, not both".into(),
            ));
        }
        (None, None) => return Ok(None),
        (Some(at), None) => ("runAt", at),
        (None, Some(delay)) => {
            if !(0..=MAX_DELAY_SECONDS).contains(&delay) {
                return Err((
                    "delaySeconds",
                    format!("must be between 0 and {MAX_DELAY_SECONDS} (a year)"),
                ));
            }
            ("delaySeconds", now + chrono::Duration::seconds(delay))
        }
    };
    if at <= now {
        return Ok(None);
    }
    if at - now > chrono::Duration::seconds(MAX_DELAY_SECONDS) {
        return Err((field, "must be at most a year ahead".into()));
    }
    Ok(Some(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-04T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn nothing_asked_or_a_past_time_starts_at_once() {
        assert_eq!(not_before(None, None, now()), Ok(None));
        assert_eq!(not_before(Some(now()), None, now()), Ok(None));
        let past = now() - chrono::Duration::hours(1);
        assert_eq!(not_before(Some(past), None, now()), Ok(None));
        assert_eq!(not_before(None, Some(0), now()), Ok(None));
    }

    #[test]
    fn a_future_time_or_a_delay_holds_the_execution() {
        let later = now() + chrono::Duration::minutes(5);
        assert_eq!(not_before(Some(later), None, now()), Ok(Some(later)));
        assert_eq!(not_before(None, Some(300), now()), Ok(Some(later)));
        let limit = now() + chrono::Duration::seconds(MAX_DELAY_SECONDS);
        assert_eq!(not_before(Some(limit), None, now()), Ok(Some(limit)));
    }

    #[test]
    fn both_negative_or_too_far_are_problems_naming_the_field() {
        let later = now() + chrono::Duration::minutes(5);
        assert_eq!(
            not_before(Some(later), Some(5), now()).unwrap_err().0,
            "delaySeconds"
        );
        assert_eq!(
            not_before(None, Some(-1), now()).unwrap_err().0,
            "delaySeconds"
        );
        assert_eq!(
            not_before(None, Some(MAX_DELAY_SECONDS + 1), now())
                .unwrap_err()
                .0,
            "delaySeconds"
        );
        let far = now() + chrono::Duration::seconds(MAX_DELAY_SECONDS + 1);
        assert_eq!(not_before(Some(far), None, now()).unwrap_err().0, "runAt");
    }
}
