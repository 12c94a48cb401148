//! Schedule arithmetic: when a schedule trigger fires. Pure functions of an instant ("the next
//! firing strictly after `after`"), so tests inject any clock.
//!
//! Policy, for every kind (written in the README and tested with DST tables):
//! - Firings are local wall-clock times in the trigger's `timezone` (IANA, default UTC).
//! - A local time that does not exist (spring forward) fires once, at the first valid instant
//!   after the gap: the day is never skipped.
//! - A local time that occurs twice (fall back) fires once, at its first occurrence.
//! - Monthly on day 29–31 fires on the month's last day when the month is shorter.
//! - Two slots that map to the same instant fire once.
//! - `frequency` counts units from `startDate` (hours from its local midnight, days, weeks from
//!   its week, months from its month); nothing fires before `startDate`.
//!
//! `CronScheduler` (an extension) uses the `croner` crate's own rules, seconds optional.

use crate::domain::model::TriggerType;
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde_json::Value;

/// The longest cron expression accepted (real ones are a few dozen characters).
pub const CRON_MAX_CHARS: usize = 200;

#[derive(Clone, Debug)]
pub struct Schedule {
    kind: Kind,
    every: u32,
    start: NaiveDate,
    tz: Tz,
}

#[derive(Clone, Debug)]
enum Kind {
    Hourly { minute: u32 },
    Daily { time: NaiveTime },
    Weekly { day: Weekday, time: NaiveTime },
    Monthly { day: u32, time: NaiveTime },
    Cron(Box<croner::Cron>),
}

/// What to do with slots missed while no scheduler ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatchUp {
    /// Fire the latest missed slot once; record the others as missed (the default).
    Latest,
    /// Fire nothing late; record every missed slot.
    None,
}

fn setting<'a>(settings: &'a Value, name: &str) -> Option<&'a Value> {
    settings.get(name).filter(|v| !v.is_null())
}

fn parse_time(settings: &Value) -> Result<NaiveTime, String> {
    match setting(settings, "time") {
        None => Ok(NaiveTime::MIN),
        Some(Value::String(s)) => NaiveTime::parse_from_str(s, "%H:%M")
            .map_err(|_| format!("time: '{s}' is not a time of day (HH:MM)")),
        Some(_) => Err("time: must be a string \"HH:MM\"".into()),
    }
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    let lower = s.to_ascii_lowercase();
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .find(|d| {
        let full = match d {
            Weekday::Mon => "monday",
            Weekday::Tue => "tuesday",
            Weekday::Wed => "wednesday",
            Weekday::Thu => "thursday",
            Weekday::Fri => "friday",
            Weekday::Sat => "saturday",
            Weekday::Sun => "sunday",
        };
        lower == full || lower == full[..3]
    })
}

fn parse_u32(
    settings: &Value,
    name: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<Option<u32>, String> {
    match setting(settings, name) {
        None => Ok(None),
        Some(v) => v
            .as_number()
            .and_then(crate::domain::step_settings::whole_number)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(|| {
                format!(
                    "{name}: must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                )
            }),
    }
}

impl Schedule {
    /// The schedule of a trigger; `None` for kinds that do not follow a clock (events).
    /// Errors name the setting, for the caller's 400.
    pub fn parse(
        trigger_type: TriggerType,
        frequency: i32,
        start: NaiveDate,
        settings: &Value,
    ) -> Result<Option<Self>, String> {
        let tz = match setting(settings, "timezone") {
            None => Tz::UTC,
            Some(Value::String(name)) => name
                .parse::<Tz>()
                .map_err(|_| format!("timezone: '{name}' is not an IANA time zone name"))?,
            Some(_) => return Err("timezone: must be a string such as \"Europe/Berlin\"".into()),
        };
        let kind = match trigger_type {
            TriggerType::EventTrigger => return Ok(None),
            TriggerType::HourlyScheduler => Kind::Hourly {
                minute: parse_u32(settings, "minute", 0..=59)?.unwrap_or(0),
            },
            TriggerType::DailyScheduler => Kind::Daily {
                time: parse_time(settings)?,
            },
            TriggerType::WeeklyScheduler => Kind::Weekly {
                day: match setting(settings, "dayOfWeek") {
                    None => start.weekday(),
                    Some(Value::String(s)) => parse_weekday(s)
                        .ok_or_else(|| format!("dayOfWeek: '{s}' is not a day of the week"))?,
                    Some(_) => {
                        return Err("dayOfWeek: must be a day name such as \"Monday\"".into());
                    }
                },
                time: parse_time(settings)?,
            },
            TriggerType::MonthlyScheduler => Kind::Monthly {
                day: parse_u32(settings, "dayOfMonth", 1..=31)?.unwrap_or(start.day()),
                time: parse_time(settings)?,
            },
            TriggerType::CronScheduler => {
                let expr = match setting(settings, "cron") {
                    Some(Value::String(s)) => s,
                    _ => return Err("cron: required, e.g. \"0 6 * * 1-5\"".into()),
                };
                if expr.len() > CRON_MAX_CHARS {
                    return Err(format!("cron: must be at most {CRON_MAX_CHARS} characters"));
                }
                let fields = expr.split_whitespace().count();
                if !(expr.trim_start().starts_with('@') || (5..=6).contains(&fields)) {
                    return Err(format!(
                        "cron: '{expr}' has {fields} fields; use 5 (minute hour day-of-month \
                         month day-of-week) or 6 (seconds first)"
                    ));
                }
                let cron: croner::Cron = expr
                    .parse()
                    .map_err(|e| format!("cron: '{expr}' is not valid: {e}"))?;
                Kind::Cron(Box::new(cron))
            }
        };
        let every = u32::try_from(frequency)
            .ok()
            .filter(|f| *f >= 1)
            .ok_or("frequency: must be at least 1")?;
        Ok(Some(Self {
            kind,
            every,
            start,
            tz,
        }))
    }

    pub fn catch_up(settings: &Value) -> Result<CatchUp, String> {
        match setting(settings, "catchUp") {
            None => Ok(CatchUp::Latest),
            Some(Value::String(s)) if s == "latest" => Ok(CatchUp::Latest),
            Some(Value::String(s)) if s == "none" => Ok(CatchUp::None),
            Some(other) => Err(format!("catchUp: {other} is not \"latest\" or \"none\"")),
        }
    }

    /// The first firing strictly after `after`, or `None` if there is none (a cron pattern
    /// that never matches again).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if let Kind::Cron(cron) = &self.kind {
            let start_instant = self.resolve(self.start.and_time(NaiveTime::MIN));
            let from = after
                .max(start_instant - Duration::seconds(1))
                .with_timezone(&self.tz);
            return cron
                .find_next_occurrence(&from, false)
                .ok()
                .map(|t| t.with_timezone(&Utc));
        }
        // Candidates are local dates; start a day early so a slot whose local date is earlier
        // than `after`'s (time zones) is not missed, and walk forward.
        let local_after = after.with_timezone(&self.tz).date_naive();
        let mut date = (local_after - Duration::days(1)).max(self.start);
        // Far enough for any frequency of any kind (10,000 months is the most).
        let horizon = local_after + Duration::days(31 * 10_001);
        while date <= horizon {
            match self.date_slots(date) {
                Slots::None => {}
                Slots::At(times) => {
                    for time in times {
                        let instant = self.resolve(date.and_time(time));
                        if instant > after {
                            return Some(instant);
                        }
                    }
                }
            }
            date += Duration::days(1);
        }
        None
    }

    /// Local times at which `date` has slots (before time-zone resolution).
    fn date_slots(&self, date: NaiveDate) -> Slots {
        if date < self.start {
            return Slots::None;
        }
        let days = (date - self.start).num_days();
        match &self.kind {
            Kind::Hourly { minute } => {
                let times = (0..24u32)
                    .filter(|h| (days * 24 + i64::from(*h)) % i64::from(self.every) == 0)
                    .filter_map(|h| NaiveTime::from_hms_opt(h, *minute, 0))
                    .collect();
                Slots::At(times)
            }
            Kind::Daily { time } if days % i64::from(self.every) == 0 => Slots::At(vec![*time]),
            Kind::Weekly { day, time } => {
                let start_week = self.start
                    - Duration::days(i64::from(self.start.weekday().num_days_from_monday()));
                let weeks = (date - start_week).num_days() / 7;
                if date.weekday() == *day && weeks % i64::from(self.every) == 0 {
                    Slots::At(vec![*time])
                } else {
                    Slots::None
                }
            }
            Kind::Monthly { day, time } => {
                let months = (date.year() - self.start.year()) * 12 + date.month() as i32
                    - self.start.month() as i32;
                let last = last_day_of_month(date);
                if months % self.every as i32 == 0 && date.day() == (*day).min(last) {
                    Slots::At(vec![*time])
                } else {
                    Slots::None
                }
            }
            _ => Slots::None,
        }
    }

    /// A local wall-clock time as an instant, by the policy above.
    fn resolve(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            LocalResult::None => {
                // In a gap: the first valid local minute after it is the instant the clocks
                // jumped.
                let mut probe = local;
                for _ in 0..(24 * 60) {
                    probe += Duration::minutes(1);
                    let probe_min = probe.with_second(0).unwrap_or(probe);
                    if let LocalResult::Single(t) | LocalResult::Ambiguous(t, _) =
                        self.tz.from_local_datetime(&probe_min)
                    {
                        return t.with_timezone(&Utc);
                    }
                }
                Utc.from_utc_datetime(&local)
            }
        }
    }
}

enum Slots {
    None,
    At(Vec<NaiveTime>),
}

fn last_day_of_month(date: NaiveDate) -> u32 {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .expect("valid date")
        .pred_opt()
        .expect("valid")
        .day()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn schedule(t: TriggerType, every: i32, start: &str, settings: Value) -> Schedule {
        Schedule::parse(t, every, start.parse().unwrap(), &settings)
            .unwrap()
            .unwrap()
    }

    /// Every firing in [from, to).
    fn firings(s: &Schedule, from: &str, to: &str) -> Vec<String> {
        let (mut t, end) = (utc(from) - Duration::seconds(1), utc(to));
        let mut out = Vec::new();
        while let Some(next) = s.next_after(t) {
            if next >= end {
                break;
            }
            out.push(next.format("%Y-%m-%dT%H:%M:%SZ").to_string());
            t = next;
        }
        out
    }

    #[test]
    fn daily_across_new_york_transitions() {
        let s = schedule(
            TriggerType::DailyScheduler,
            1,
            "2024-01-01",
            json!({"time": "02:30", "timezone": "America/New_York"}),
        );
        // Spring forward 2024-03-10: 02:30 does not exist; fires at 03:00 EDT (07:00Z).
        assert_eq!(
            firings(&s, "2024-03-09T00:00:00Z", "2024-03-12T00:00:00Z"),
            vec![
                "2024-03-09T07:30:00Z",
                "2024-03-10T07:00:00Z",
                "2024-03-11T06:30:00Z"
            ]
        );
        let s = schedule(
            TriggerType::DailyScheduler,
            1,
            "2024-01-01",
            json!({"time": "01:30", "timezone": "America/New_York"}),
        );
        // Fall back 2024-11-03: 01:30 occurs twice; fires once, at the first (EDT, 05:30Z).
        assert_eq!(
            firings(&s, "2024-11-02T00:00:00Z", "2024-11-05T00:00:00Z"),
            vec![
                "2024-11-02T05:30:00Z",
                "2024-11-03T05:30:00Z",
                "2024-11-04T06:30:00Z"
            ]
        );
    }

    #[test]
    fn daily_across_berlin_transitions() {
        let s = schedule(
            TriggerType::DailyScheduler,
            1,
            "2024-01-01",
            json!({"time": "02:30", "timezone": "Europe/Berlin"}),
        );
        // 2024-03-31 02:00 CET jumps to 03:00 CEST (01:00Z).
        assert_eq!(
            firings(&s, "2024-03-30T00:00:00Z", "2024-04-02T00:00:00Z"),
            vec![
                "2024-03-30T01:30:00Z",
                "2024-03-31T01:00:00Z",
                "2024-04-01T00:30:00Z"
            ]
        );
        // 2024-10-27 02:30 occurs twice (CEST 00:30Z, then CET 01:30Z): once.
        assert_eq!(
            firings(&s, "2024-10-26T00:00:00Z", "2024-10-29T00:00:00Z"),
            vec![
                "2024-10-26T00:30:00Z",
                "2024-10-27T00:30:00Z",
                "2024-10-28T01:30:00Z"
            ]
        );
    }

    #[test]
    fn daily_across_lord_howe_half_hour_transitions() {
        // Lord Howe: +10:30 standard, +11:00 summer. 2024-10-06 02:00 jumps to 02:30.
        let s = schedule(
            TriggerType::DailyScheduler,
            1,
            "2024-01-01",
            json!({"time": "02:15", "timezone": "Australia/Lord_Howe"}),
        );
        assert_eq!(
            firings(&s, "2024-10-04T00:00:00Z", "2024-10-07T00:00:00Z"),
            vec![
                "2024-10-04T15:45:00Z",
                "2024-10-05T15:30:00Z",
                "2024-10-06T15:15:00Z"
            ]
        );
        // 2024-04-07 02:00 goes back to 01:30: 01:45 occurs twice, fires once (the first).
        let s = schedule(
            TriggerType::DailyScheduler,
            1,
            "2024-01-01",
            json!({"time": "01:45", "timezone": "Australia/Lord_Howe"}),
        );
        assert_eq!(
            firings(&s, "2024-04-05T00:00:00Z", "2024-04-08T00:00:00Z"),
            vec![
                "2024-04-05T14:45:00Z",
                "2024-04-06T14:45:00Z",
                "2024-04-07T15:15:00Z"
            ]
        );
    }

    #[test]
    fn hourly_across_a_gap_never_doubles_an_instant() {
        let s = schedule(
            TriggerType::HourlyScheduler,
            1,
            "2024-03-10",
            json!({"timezone": "America/New_York"}),
        );
        // 02:00 does not exist: it maps to 03:00, which is also the next slot: one firing.
        assert_eq!(
            firings(&s, "2024-03-10T05:00:00Z", "2024-03-10T09:00:00Z"),
            vec![
                "2024-03-10T05:00:00Z",
                "2024-03-10T06:00:00Z",
                "2024-03-10T07:00:00Z",
                "2024-03-10T08:00:00Z"
            ]
        );
    }

    #[test]
    fn monthly_on_the_31st_across_a_leap_year() {
        let s = schedule(
            TriggerType::MonthlyScheduler,
            1,
            "2023-12-31",
            json!({"time": "06:00"}),
        );
        assert_eq!(
            firings(&s, "2023-12-01T00:00:00Z", "2024-05-01T00:00:00Z"),
            vec![
                "2023-12-31T06:00:00Z",
                "2024-01-31T06:00:00Z",
                "2024-02-29T06:00:00Z",
                "2024-03-31T06:00:00Z",
                "2024-04-30T06:00:00Z"
            ]
        );
        let s = schedule(
            TriggerType::MonthlyScheduler,
            1,
            "2023-01-01",
            json!({"dayOfMonth": 31}),
        );
        assert_eq!(
            firings(&s, "2023-02-01T00:00:00Z", "2023-03-01T00:00:00Z"),
            vec!["2023-02-28T00:00:00Z"]
        );
        let s = schedule(TriggerType::MonthlyScheduler, 3, "2024-01-15", json!({}));
        assert_eq!(
            firings(&s, "2024-01-01T00:00:00Z", "2024-12-31T00:00:00Z"),
            vec![
                "2024-01-15T00:00:00Z",
                "2024-04-15T00:00:00Z",
                "2024-07-15T00:00:00Z",
                "2024-10-15T00:00:00Z"
            ]
        );
    }

    #[test]
    fn weekly_and_hourly_frequencies_count_from_the_start() {
        let s = schedule(
            TriggerType::WeeklyScheduler,
            2,
            "2024-01-08",
            json!({"dayOfWeek": "Wednesday", "time": "09:15"}),
        );
        assert_eq!(
            firings(&s, "2024-01-01T00:00:00Z", "2024-02-05T00:00:00Z"),
            vec!["2024-01-10T09:15:00Z", "2024-01-24T09:15:00Z"]
        );
        let s = schedule(
            TriggerType::HourlyScheduler,
            6,
            "2024-01-01",
            json!({"minute": 5}),
        );
        assert_eq!(
            firings(&s, "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"),
            vec![
                "2024-01-01T00:05:00Z",
                "2024-01-01T06:05:00Z",
                "2024-01-01T12:05:00Z",
                "2024-01-01T18:05:00Z"
            ]
        );
        let s = schedule(
            TriggerType::CronScheduler,
            1,
            "2024-01-01",
            json!({"cron": "0 6 * * 1-5", "timezone": "Europe/Berlin"}),
        );
        assert_eq!(
            firings(&s, "2024-01-05T00:00:00Z", "2024-01-09T00:00:00Z"),
            vec!["2024-01-05T05:00:00Z", "2024-01-08T05:00:00Z"]
        );
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let cases = [
            (
                TriggerType::DailyScheduler,
                json!({"time": "25:00"}),
                "time",
            ),
            (
                TriggerType::DailyScheduler,
                json!({"timezone": "Mars/Olympus"}),
                "timezone",
            ),
            (
                TriggerType::HourlyScheduler,
                json!({"minute": 60}),
                "minute",
            ),
            (
                TriggerType::WeeklyScheduler,
                json!({"dayOfWeek": "Funday"}),
                "dayOfWeek",
            ),
            (
                TriggerType::MonthlyScheduler,
                json!({"dayOfMonth": 0}),
                "dayOfMonth",
            ),
            (TriggerType::CronScheduler, json!({}), "cron"),
            (
                TriggerType::CronScheduler,
                json!({"cron": "61 * * * *"}),
                "cron",
            ),
            (
                TriggerType::CronScheduler,
                json!({"cron": "* * * * * * *"}),
                "cron: '* * * * * * *' has 7 fields",
            ),
            (
                TriggerType::CronScheduler,
                json!({"cron": "* * * *"}),
                "cron",
            ),
            (
                TriggerType::CronScheduler,
                json!({"cron": "* ".repeat(100_000)}),
                "cron: must be at most 200",
            ),
        ];
        for (t, settings, name) in cases {
            let err = Schedule::parse(t, 1, "2024-01-01".parse().unwrap(), &settings).unwrap_err();
            assert!(err.starts_with(name), "{settings}: {err}");
        }
        assert!(Schedule::catch_up(&json!({"catchUp": "sometimes"})).is_err());
        assert_eq!(Schedule::catch_up(&json!({})).unwrap(), CatchUp::Latest);
    }

    fn any_schedule() -> impl Strategy<Value = (Schedule, i32, NaiveDate)> {
        let zones = prop::sample::select(vec![
            "UTC",
            "America/New_York",
            "Europe/Berlin",
            "Australia/Lord_Howe",
            "Asia/Kolkata",
        ]);
        (
            0usize..4,
            1i32..=5,
            0i64..2000,
            zones,
            0u32..24,
            0u32..60,
            1u32..=31,
        )
            .prop_map(|(kind, every, start_offset, tz, h, m, dom)| {
                let start =
                    NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + Duration::days(start_offset);
                let time = format!("{h:02}:{m:02}");
                let (t, settings) = match kind {
                    0 => (
                        TriggerType::HourlyScheduler,
                        json!({"minute": m, "timezone": tz}),
                    ),
                    1 => (
                        TriggerType::DailyScheduler,
                        json!({"time": time, "timezone": tz}),
                    ),
                    2 => (
                        TriggerType::WeeklyScheduler,
                        json!({"time": time, "timezone": tz}),
                    ),
                    _ => (
                        TriggerType::MonthlyScheduler,
                        json!({"time": time, "dayOfMonth": dom, "timezone": tz}),
                    ),
                };
                (
                    Schedule::parse(t, every, start, &settings)
                        .unwrap()
                        .unwrap(),
                    every,
                    start,
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn firings_are_after_now_increasing_and_never_before_start(
            (s, _every, start) in any_schedule(),
            now_offset in 0i64..(3 * 365 * 24 * 3600),
        ) {
            let now = Utc.from_utc_datetime(&NaiveDate::from_ymd_opt(2020, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap())
                + Duration::seconds(now_offset);
            let mut t = now;
            for _ in 0..6 {
                let next = s.next_after(t).expect("a clock schedule always fires again");
                prop_assert!(next > t, "next {next} not after {t}");
                let local = next.with_timezone(&s.tz).date_naive();
                // A gap can push a slot just past midnight; never more than a day early.
                prop_assert!(local >= start, "{next} before start {start}");
                t = next;
            }
        }

        #[test]
        fn daily_firings_respect_the_frequency((s, every, _start) in any_schedule(), now_offset in 0i64..(365 * 24 * 3600)) {
            if matches!(s.kind, Kind::Daily { .. }) {
                let now = Utc.from_utc_datetime(&NaiveDate::from_ymd_opt(2021, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap())
                    + Duration::seconds(now_offset);
                let a = s.next_after(now).unwrap();
                let b = s.next_after(a).unwrap();
                let hours = (b - a).num_minutes() as f64 / 60.0;
                let expected = f64::from(every as u32) * 24.0;
                // A DST shift moves a firing by at most an hour.
                prop_assert!((hours - expected).abs() <= 1.0, "{a} → {b}: {hours} h, expected {expected}");
            }
        }
    }
}
