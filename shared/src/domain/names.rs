//! Names people give things and type again later: action names and event names. They are shown
//! in lists, logs and URLs, so they may not hold control characters (a CR/LF could forge a log
//! line or a header) or bidirectional formatting characters (which make a name display as
//! something else, "Trojan Source" style). Free text such as descriptions is not held to this.

use crate::domain::draft::limits;
use serde::Serialize;
use std::fmt;

/// Unicode's bidirectional formatting characters: marks, embeddings, overrides and isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks a name: not blank, at most `max_chars`, no control or bidi formatting characters.
pub fn check(name: &str, max_chars: usize) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if name.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if let Some(c) = name.chars().find(|c| c.is_control() || is_bidi_control(*c)) {
        let kind = if c.is_control() {
            "control"
        } else {
            "bidirectional formatting"
        };
        return Err(format!(
            "must not contain {kind} characters (found U+{:04X})",
            c as u32
        ));
    }
    Ok(())
}

/// The name of an event: what an `EventTrigger` listens for and what
/// `POST /action/event/{eventName}` raises. One type for both, so a trigger can never be
/// saved under a name that could not be raised.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EventName(String);

impl EventName {
    pub fn parse(name: &str) -> Result<Self, String> {
        check(name, limits::EVENT_NAME_MAX_CHARS)?;
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_control_and_bidi_characters() {
        assert!(check("Daily Report ✓ 日本", 200).is_ok());
        for (name, needle) in [
            ("", "empty"),
            ("  ", "empty"),
            ("a\r\nb", "control characters (found U+000D)"),
            ("tab\there", "control"),
            ("del\u{7f}", "control"),
            ("c1\u{85}", "control"),
            (
                "abc\u{202E}fed",
                "bidirectional formatting characters (found U+202E)",
            ),
            ("\u{2066}x", "bidirectional"),
            ("\u{200F}", "bidirectional"),
        ] {
            let err = check(name, 200).unwrap_err();
            assert!(err.contains(needle), "{name:?}: {err}");
        }
        assert!(
            check(&"x".repeat(201), 200)
                .unwrap_err()
                .contains("at most 200")
        );
    }

    #[test]
    fn event_names_are_checked_names() {
        assert_eq!(
            EventName::parse("order.placed").unwrap().as_str(),
            "order.placed"
        );
        assert!(EventName::parse("a\u{1}").is_err());
        assert!(EventName::parse(&"e".repeat(201)).is_err());
    }
}
