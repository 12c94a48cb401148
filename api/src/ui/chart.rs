//! The executions chart: counts per time bucket and status (from the store) drawn as stacked
//! bars in an SVG, with a text alternative. Pure functions, so the drawing is unit-tested.

use actuate_shared::storage::StatusCount;
use chrono::{DateTime, Utc};
use std::fmt::Write;
use std::time::Duration;

/// Which period the chart covers, and in which buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    /// The last hour, minute by minute.
    Hour,
    /// The last day, in quarters of an hour (drawn as executions per minute).
    Day,
}

impl Range {
    pub fn parse(text: Option<&str>) -> Self {
        match text {
            Some("day") => Range::Day,
            _ => Range::Hour,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Range::Hour => "hour",
            Range::Day => "day",
        }
    }

    pub fn bucket(self) -> Duration {
        match self {
            Range::Hour => Duration::from_secs(60),
            Range::Day => Duration::from_secs(15 * 60),
        }
    }

    fn buckets(self) -> i64 {
        match self {
            Range::Hour => 60,
            Range::Day => 96,
        }
    }

    /// The start of the first bucket drawn, ending with the bucket that holds `now`.
    pub fn since(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let size = self.bucket().as_secs() as i64;
        let current = now.timestamp().div_euclid(size) * size;
        DateTime::from_timestamp(current - (self.buckets() - 1) * size, 0).unwrap_or(now)
    }
}

/// Statuses bottom to top, with their colours (as in the stylesheet).
const STATUSES: [(&str, &str); 4] = [
    ("Completed", "#1e7d3a"),
    ("Failed", "#b3261e"),
    ("Running", "#1f5fbf"),
    ("Queued", "#8a6d00"),
];

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 120.0;

/// The chart of `counts` for `range` ending now, as SVG with a legend.
pub fn svg(range: Range, counts: &[StatusCount], now: DateTime<Utc>) -> String {
    let size = range.bucket().as_secs() as i64;
    let first = range.since(now).timestamp();
    let n = range.buckets();
    let per_minute = 60.0 / size as f64;
    // rates[bucket][status]
    let mut rates = vec![[0.0f64; 4]; n as usize];
    let mut total = 0i64;
    for c in counts {
        let index = (c.bucket - first).div_euclid(size);
        let Some(row) = usize::try_from(index).ok().and_then(|i| rates.get_mut(i)) else {
            continue;
        };
        if let Some(s) = STATUSES.iter().position(|(name, _)| *name == c.status) {
            row[s] += c.count as f64 * per_minute;
            total += c.count;
        }
    }
    let peak = rates
        .iter()
        .map(|r| r.iter().sum::<f64>())
        .fold(0.0, f64::max)
        .max(1.0);
    let bar = WIDTH / n as f64;
    let period = match range {
        Range::Hour => "the last hour, per minute",
        Range::Day => "the last day, per minute in 15-minute steps",
    };
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {WIDTH} {h}" role="img" aria-labelledby="chart-desc" xmlns="http://www.w3.org/2000/svg"><desc id="chart-desc">{total} {noun} started in {period}; at most {peak:.1} per minute.</desc>"#,
        h = HEIGHT + 14.0,
        noun = if total == 1 {
            "execution"
        } else {
            "executions"
        },
    );
    for (i, row) in rates.iter().enumerate() {
        let mut y = HEIGHT;
        for (s, rate) in row.iter().enumerate() {
            if *rate <= 0.0 {
                continue;
            }
            let h = rate / peak * HEIGHT;
            y -= h;
            let _ = write!(
                out,
                r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{}"/>"#,
                i as f64 * bar,
                y,
                (bar - 1.0).max(0.5),
                h,
                STATUSES[s].1
            );
        }
    }
    let _ = write!(
        out,
        r##"<line x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" stroke="#9aa4ae"/><text x="0" y="{t}" font-size="10" fill="#5b6570">{start}</text><text x="{WIDTH}" y="{t}" font-size="10" text-anchor="end" fill="#5b6570">now · peak {peak:.1}/min</text></svg>"##,
        t = HEIGHT + 12.0,
        start = DateTime::from_timestamp(first, 0)
            .map(|t| t.format("%H:%M UTC").to_string())
            .unwrap_or_default(),
    );
    out.push_str(r#"<p class="legend">"#);
    for (name, colour) in STATUSES {
        let _ = write!(out, r#"<span style="color: {colour}">{name}</span>"#);
    }
    out.push_str("</p>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(bucket: i64, status: &str, count: i64) -> StatusCount {
        StatusCount {
            bucket,
            status: status.into(),
            count,
        }
    }

    #[test]
    fn buckets_end_with_the_current_one() {
        let now = DateTime::from_timestamp(1_000_000_030, 0).unwrap();
        assert_eq!(Range::Hour.since(now).timestamp(), 1_000_000_020 - 59 * 60);
        let day = Range::Day.since(now).timestamp();
        assert_eq!(day % 900, 0);
        assert_eq!((now.timestamp() - day) / 900, 95);
    }

    #[test]
    fn bars_stack_by_status_and_scale_to_the_peak() {
        let now = DateTime::from_timestamp(1_000_000_030, 0).unwrap();
        let last = 1_000_000_020;
        let svg = svg(
            Range::Hour,
            &[
                count(last, "Completed", 3),
                count(last, "Failed", 1),
                count(last - 60, "Completed", 2),
                count(0, "Completed", 100), // outside the hour: ignored
            ],
            now,
        );
        assert!(
            svg.contains("6 executions started in the last hour"),
            "{svg}"
        );
        assert!(svg.contains("at most 4.0 per minute"), "{svg}");
        // The last bucket's Completed bar is 3/4 of the height, Failed 1/4 on top of it.
        assert!(
            svg.contains(r##"y="30.00" width="9.00" height="90.00" fill="#1e7d3a""##),
            "{svg}"
        );
        assert!(
            svg.contains(r##"y="0.00" width="9.00" height="30.00" fill="#b3261e""##),
            "{svg}"
        );
        assert_eq!(svg.matches("<rect").count(), 3);
    }

    #[test]
    fn a_day_shows_rates_per_minute() {
        let now = DateTime::from_timestamp(1_000_000_030, 0).unwrap();
        let bucket = Range::Day.since(now).timestamp();
        let svg = svg(Range::Day, &[count(bucket, "Completed", 30)], now);
        assert!(svg.contains("at most 2.0 per minute"), "{svg}");
    }
}
