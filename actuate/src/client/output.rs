//! Output for people (plain aligned tables, short dates) and for scripts (the API's JSON,
//! pretty-printed).

use chrono::{DateTime, Utc};
use std::io::Write;

/// `println!` for command output: a reader that went away (`| head`) ends the command quietly
/// (status 0, as with other tools) rather than with a panic.
macro_rules! outln {
    () => { $crate::client::output::write_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::client::output::write_line(format_args!($($arg)*)) };
}
pub(crate) use outln;

pub fn write_line(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{line}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("actuate: cannot write the output: {e}");
        std::process::exit(2);
    }
}
use comfy_table::{ContentArrangement, Table, presets};
use serde_json::Value;

/// A borderless table with `headers`, columns aligned.
pub fn table(headers: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.iter().copied());
    table
}

/// Prints `table`'s lines without their leading padding.
pub fn print_table(table: &Table) {
    for line in table.lines() {
        outln!("{}", line.trim_start().trim_end());
    }
}

pub fn print_json(value: &Value) {
    outln!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON values serialise")
    );
}

/// A field as text: strings as they are, null and absent as `-`.
pub fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A field as one short line (at most `max` characters).
pub fn short(value: &Value, max: usize) -> String {
    let text = text(value).replace(['\n', '\r'], " ");
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((cut, _)) if text.chars().count() > max => format!("{}…", &text[..cut]),
        _ => text,
    }
}

fn time(value: &Value) -> Option<DateTime<Utc>> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn date(value: &Value) -> String {
    time(value)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

/// From `start` to `end` (or to now, while it runs), e.g. `1.3s`, `2m05s`.
pub fn duration(start: &Value, end: &Value) -> String {
    let Some(start) = time(start) else {
        return "-".into();
    };
    let end = time(end).unwrap_or_else(Utc::now);
    elapsed((end - start).to_std().unwrap_or_default())
}

pub fn elapsed(d: std::time::Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_read_as_people_expect() {
        assert_eq!(text(&json!(null)), "-");
        assert_eq!(text(&json!("a")), "a");
        assert_eq!(text(&json!(42)), "42");
        assert_eq!(short(&json!("one\ntwo three"), 8), "one two…");
        assert_eq!(short(&json!("short"), 8), "short");
        assert_eq!(
            date(&json!("2026-12-05T21:27:31.696383Z")),
            "2026-12-05 21:27:31"
        );
        assert_eq!(
            duration(
                &json!("2026-12-05T21:27:31Z"),
                &json!("2026-12-05T21:29:36Z")
            ),
            "2m05s"
        );
        assert_eq!(elapsed(std::time::Duration::from_millis(1340)), "1.3s");
    }
}
