//! What every backend can store, decided once: user input and step results are checked here
//! before they are written, so a write never fails for a data reason (and is never retried
//! for one).
//!
//! - JSON (`input`, step outputs) may not hold NUL (`\u0000`) in any string or key: PostgreSQL's
//!   jsonb rejects it. The API refuses such input with a 400 naming the field; a step whose
//!   output holds one fails, with a note saying where.
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

/// The path of the first string or key holding NUL, starting from `root`: `input.rows[2].name`.
pub fn find_nul(value: &Value, root: &str) -> Option<String> {
    // Depth-first with an explicit stack: no recursion on user data.
    let mut stack = vec![(value, root.to_string())];
    while let Some((value, path)) = stack.pop() {
        match value {
            Value::String(s) if s.contains('\0') => return Some(path),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((item, format!("{path}[{i}]")));
                }
            }
            Value::Object(map) => {
                let mut children = Vec::with_capacity(map.len());
                for (key, item) in map {
                    if key.contains('\0') {
                        return Some(format!("{path} (a key)"));
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
    if let Some(path) = find_nul(value, "output") {
        return Err(format!(
            "its output cannot be stored: {path} holds a NUL character (\\u0000)"
        ));
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
    fn nul_is_found_with_its_path() {
        assert_eq!(
            find_nul(&json!({"a": [1, {"b": "x\u{0}"}]}), "input"),
            Some("input.a[1].b".into())
        );
        assert_eq!(
            find_nul(&json!({"k\u{0}": 1}), "input"),
            Some("input (a key)".into())
        );
        assert_eq!(find_nul(&json!("\u{0}"), "output"), Some("output".into()));
        assert_eq!(find_nul(&json!({"a": ["fine", 1, null]}), "input"), None);
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
