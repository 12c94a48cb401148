//! Catch-up: what a scheduler does with a trigger whose slots came due, possibly many of them
//! after an outage or a pause of every scheduler.

use crate::domain::model::TriggerType;
use crate::domain::schedule::{CatchUp, Schedule};
use chrono::{DateTime, NaiveDate, Utc};
use std::time::Duration;

/// The most slots decided for one trigger in one round (a long outage of an hourly trigger);
/// the rest are decided in later rounds.
pub const MAX_SLOTS_PER_ROUND: usize = 10_000;

/// What to record for one due trigger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FiringPlan {
    /// Slots that came due and are recorded as missed, oldest first.
    pub missed: Vec<DateTime<Utc>>,
    /// The slot that fires an execution, if any.
    pub fire: Option<DateTime<Utc>>,
    /// When the trigger is due next (`None`: never).
    pub next: Option<DateTime<Utc>>,
}

/// A stored schedule trigger read back: its schedule and catch-up policy. `Err` (also for a
/// trigger that is not a schedule) means settings that no longer parse: such a trigger is
/// stopped rather than fired wrongly.
pub fn stored_schedule(
    trigger_type: &str,
    frequency: i32,
    start_date: Option<NaiveDate>,
    settings: &str,
    due: DateTime<Utc>,
) -> Result<(Schedule, CatchUp), String> {
    let settings: serde_json::Value = serde_json::from_str(settings).map_err(|e| e.to_string())?;
    let trigger_type: TriggerType = trigger_type.parse()?;
    let start = start_date.unwrap_or(due.date_naive());
    let schedule = Schedule::parse(trigger_type, frequency, start, &settings)?
        .ok_or_else(|| format!("{} is not a schedule", trigger_type.as_str()))?;
    Ok((schedule, Schedule::catch_up(&settings)?))
}

/// Plans a trigger due at `due` (its stored next firing, not after `now`): every slot up to
/// `now` comes due; under `catchUp: "latest"` the latest fires and the others are missed; under
/// `"none"` the latest fires only if it is at most `grace` late.
pub fn plan(
    schedule: &Schedule,
    catch_up: CatchUp,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    grace: Duration,
) -> FiringPlan {
    let mut slots = vec![due];
    while slots.len() < MAX_SLOTS_PER_ROUND {
        match schedule.next_after(*slots.last().expect("not empty")) {
            Some(next) if next <= now => slots.push(next),
            _ => break,
        }
    }
    let latest = *slots.last().expect("not empty");
    // Cut short by the cap: the next round goes on from the last slot decided.
    let next = if slots.len() == MAX_SLOTS_PER_ROUND {
        schedule.next_after(latest)
    } else {
        schedule.next_after(latest.max(now))
    };
    let late = (now - latest).to_std().unwrap_or_default();
    let fire = match catch_up {
        CatchUp::Latest => true,
        CatchUp::None => late <= grace,
    };
    if fire {
        slots.pop();
    }
    FiringPlan {
        missed: slots,
        fire: fire.then_some(latest),
        next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::TriggerType;
    use chrono::{NaiveDate, TimeZone};
    use serde_json::json;

    fn hourly() -> Schedule {
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        Schedule::parse(TriggerType::HourlyScheduler, 1, start, &json!({}))
            .unwrap()
            .unwrap()
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, h, m, 0).unwrap()
    }

    const GRACE: Duration = Duration::from_secs(60);

    #[test]
    fn on_time_fires_the_slot_and_moves_on() {
        let p = plan(&hourly(), CatchUp::Latest, at(10, 0), at(10, 0), GRACE);
        assert!(p.missed.is_empty());
        assert_eq!(p.fire, Some(at(10, 0)));
        assert_eq!(p.next, Some(at(11, 0)));
    }

    #[test]
    fn latest_fires_the_last_slot_once_and_records_the_rest_missed() {
        let p = plan(&hourly(), CatchUp::Latest, at(7, 0), at(10, 30), GRACE);
        assert_eq!(p.missed, vec![at(7, 0), at(8, 0), at(9, 0)]);
        assert_eq!(p.fire, Some(at(10, 0)));
        assert_eq!(p.next, Some(at(11, 0)));
    }

    #[test]
    fn none_fires_nothing_late_but_a_slot_within_the_grace() {
        let late = plan(&hourly(), CatchUp::None, at(9, 0), at(10, 30), GRACE);
        assert_eq!(late.missed, vec![at(9, 0), at(10, 0)]);
        assert_eq!(late.fire, None);
        assert_eq!(late.next, Some(at(11, 0)));
        let barely = plan(&hourly(), CatchUp::None, at(10, 0), at(10, 1), GRACE);
        assert_eq!(barely.fire, Some(at(10, 0)));
        assert!(barely.missed.is_empty());
    }

    #[test]
    fn a_long_outage_is_decided_over_several_rounds() {
        let now = at(10, 0) + chrono::Duration::hours(20_000);
        let p = plan(&hourly(), CatchUp::Latest, at(10, 0), now, GRACE);
        assert_eq!(p.missed.len(), MAX_SLOTS_PER_ROUND - 1);
        let fired = p.fire.unwrap();
        assert_eq!(p.next, Some(fired + chrono::Duration::hours(1)));
    }
}
