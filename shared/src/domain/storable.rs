//! What every backend can store, decided once: user input and step results are checked here
//! before they are written, so a write never fails for a data reason (and is never retried
//! for one).
//!
//! - JSON (`input`, step outputs) may not hold NUL (`\u0000`) in any string or key: PostgreSQL's
//!   jsonb rejects it. Nor a number of [`MAX_NUMBER`] or more in magnitude: jsonb keeps it, but
//!   writes it back as all its decimal digits, which no longer read as a number near
//!   `f64::MAX`. The API refuses such input with a 400 naming the field; a step whose output
//!   holds one fails, with a note saying where.
//! - A step's output is at most [`MAX_OUTPUT_BYTES`] of JSON.
//! - Free text a step produces (logs, error messages, and the notes built from them) keeps
//!   every character but NUL, which becomes U+FFFD, and is cut at a documented length.

use serde_json::Value;

/// The largest step output stored, as JSON text.
pub const MAX_OUTPUT_BYTES: usize = 16 * 1024 * 1024;
/// The most of a step's log kept (its stdout/stderr cap plus room for a traceback).
pub const MAX_LOG_BYTES: usize = 2 * 1024 * 1024;
/// The most of an error message (and so of `notes`) kept.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// The bound on numbers in stored JSON (exclusive, in magnitude).
pub const MAX_NUMBER: f64 = 1e308;

/// What cannot be stored in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unstorable {
    Nul,
    HugeNumber,
}

impl Unstorable {
    /// What is wrong, after the path: `input.a: ...`.
    pub fn describe(self) -> &'static str {
        match self {
            Unstorable::Nul => "must not contain NUL characters (\\u0000)",
            Unstorable::HugeNumber => "numbers must be less than 1e308 in magnitude",
        }
    }
}

/// The path of the first string or key holding NUL, or number too large, starting from
/// `root` (`input.rows[2].name`), and which it is.
pub fn find_unstorable(value: &Value, root: &str) -> Option<(String, Unstorable)> {
    // Depth-first with an explicit stack: no recursion on user data.
    let mut stack = vec![(value, root.to_string())];
    while let Some((value, path)) = stack.pop() {
        match value {
            Value::String(s) if s.contains('\0') => return Some((path, Unstorable::Nul)),
            Value::Number(n) if n.as_f64().is_some_and(|f| f.abs() >= MAX_NUMBER) => {
                return Some((path, Unstorable::HugeNumber));
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((item, format!("{path}[{i}]")));
                }
            }
            Value::Object(map) => {
                let mut children = Vec::with_capacity(map.len());
                for (key, item) in map {
                    if key.contains('\0') {
                        return Some((format!("{path} (a key)"), Unstorable::Nul));
                    }
                    children.push((item, format!("{path}.{key}")));
                }
                stack.extend(children.into_iter().rev());
            }
            _ => {}
        }
    }
    None
}

/// Why `value` cannot be stored as a step's output, if it cannot.
pub fn check_output(value: &Value) -> Result<(), String> {
    match find_unstorable(value, "output") {
        Some((path, Unstorable::Nul)) => {
            return Err(format!(
                "its output cannot be stored: {path} holds a NUL character (\\u0000)"
            ));
        }
        Some((path, Unstorable::HugeNumber)) => {
            return Err(format!(
                "its output cannot be stored: {path} is a number of 1e308 or more in magnitude"
            ));
        }
        None => {}
    }
    let size = serde_json::to_vec(value).map_or(0, |v| v.len());
    if size > MAX_OUTPUT_BYTES {
        return Err(format!(
            "its output is {size} bytes of JSON; a step's output may be at most {MAX_OUTPUT_BYTES}"
        ));
    }
    Ok(())
}

/// `text` as it can be stored: NUL becomes U+FFFD, and past `max` bytes it is cut (on a
/// character boundary) with a marker saying how much was left out.
pub fn text(text: &str, max: usize) -> String {
    let clean = if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text.to_string()
    };
    if clean.len() <= max {
        return clean;
    }
    let mut cut = max;
    while !clean.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}\n[truncated: {} more bytes]",
        &clean[..cut],
        clean.len() - cut
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_and_huge_numbers_are_found_with_their_path() {
        let nul = |path: &str| Some((path.to_string(), Unstorable::Nul));
        assert_eq!(
            find_unstorable(&json!({"a": [1, {"b": "x\u{0}"}]}), "input"),
            nul("input.a[1].b")
        );
        assert_eq!(
            find_unstorable(&json!({"k\u{0}": 1}), "input"),
            nul("input (a key)")
        );
        assert_eq!(find_unstorable(&json!("\u{0}"), "output"), nul("output"));
        assert_eq!(
            find_unstorable(&json!({"a": ["fine", 1, null, 9.9e307, -1e300]}), "input"),
            None
        );
        let huge: Value = serde_json::from_str(r#"{"a": [-1.7976931348623157e308]}"#).unwrap();
        assert_eq!(
            find_unstorable(&huge, "input"),
            Some(("input.a[0]".into(), Unstorable::HugeNumber))
        );
    }

    #[test]
    fn outputs_are_checked_for_nul_and_size() {
        assert!(check_output(&json!({"ok": true})).is_ok());
        let err = check_output(&json!({"data": "\u{0}"})).unwrap_err();
        assert!(err.contains("output.data holds a NUL"), "{err}");
        let err = check_output(&json!("x".repeat(MAX_OUTPUT_BYTES))).unwrap_err();
        assert!(err.contains("at most"), "{err}");
    }

    #[test]
    fn text_keeps_everything_but_nul_and_cuts_on_a_char_boundary() {
        assert_eq!(text("a\u{0}b", 100), "a\u{FFFD}b");
        assert_eq!(
            text("é".repeat(10).as_str(), 5),
            "éé\n[truncated: 16 more bytes]"
        );
        assert_eq!(text("plain", 5), "plain");
    }
}
