//! Secrets of a project: named values steps use (`{{ secrets.NAME }}` in email and webhook
//! templates, the `secrets` mapping in Python) and nobody reads back. Values are sealed at rest
//! (see [`crate::crypto`]); what a step produces passes through a [`Redactor`] before it is
//! stored or logged, so a value a step echoes is shown as [`REDACTED`].

use crate::domain::ids::Scope;
use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// What replaces a secret's value wherever a step's result would show it.
pub const REDACTED: &str = "[redacted]";
/// The longest name: a template identifier people type.
pub const NAME_MAX_CHARS: usize = 128;
/// The largest value: certificates and service-account JSON fit, documents do not.
pub const VALUE_MAX_BYTES: usize = 64 * 1024;
/// The most secrets one project holds.
pub const PER_PROJECT_MAX: i64 = 1000;

/// A secret's name: a letter or `_`, then letters, digits and `_` (so it reads as
/// `secrets.NAME` in a template and `secrets["NAME"]` in Python).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SecretName(String);

impl SecretName {
    pub fn parse(name: &str) -> Result<Self, String> {
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "a secret's name is a letter or '_' followed by letters, digits or '_' \
                 (got {name:?})"
            ));
        }
        if name.len() > NAME_MAX_CHARS {
            return Err(format!(
                "a secret's name is at most {NAME_MAX_CHARS} characters"
            ));
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A secret's value as given: checked, and never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn parse(value: String) -> Result<Self, String> {
        if value.is_empty() {
            return Err("a secret's value must not be empty".into());
        }
        if value.len() > VALUE_MAX_BYTES {
            return Err(format!(
                "a secret's value is at most {VALUE_MAX_BYTES} bytes (got {})",
                value.len()
            ));
        }
        if value.contains('\0') {
            return Err("a secret's value must not contain NUL characters".into());
        }
        Ok(Self(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// The associated data a secret's ciphertext is sealed with: it opens for this row only.
pub fn seal_context(scope: Scope, name: &SecretName) -> String {
    format!(
        "actuate secret v1 {}/{}/{}",
        scope.tenant_id, scope.project_id, name
    )
}

/// Replaces every secret value in what a step produced. Longer values first, so a value that
/// contains another is hidden whole.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    values: Vec<SecretValue>,
}

impl Redactor {
    pub fn new(values: impl IntoIterator<Item = SecretValue>) -> Self {
        let mut values: Vec<_> = values.into_iter().collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.0.len()));
        values.dedup();
        Self { values }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for value in &self.values {
            if out.contains(value.expose()) {
                out = out.replace(value.expose(), REDACTED);
            }
        }
        out
    }

    /// Every string in `value`, object keys included.
    pub fn json(&self, value: Value) -> Value {
        if self.is_empty() {
            return value;
        }
        match value {
            Value::String(s) => Value::String(self.text(&s)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (self.text(&k), self.json(v)))
                    .collect(),
            ),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        for ok in ["A", "_x", "API_KEY_2", &"a".repeat(128)] {
            assert!(SecretName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1A", "a-b", "a.b", "ä", "a b", &"a".repeat(129)] {
            assert!(SecretName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values() {
        assert!(SecretValue::parse(String::new()).is_err());
        assert!(SecretValue::parse("a\0b".into()).is_err());
        assert!(SecretValue::parse("x".repeat(VALUE_MAX_BYTES + 1)).is_err());
        let v = SecretValue::parse("hunter2".into()).unwrap();
        assert_eq!(format!("{v:?}"), REDACTED);
    }

    #[test]
    fn redacts_everywhere_longest_first() {
        let r =
            Redactor::new(["abc", "abcdef", "abc"].map(|v| SecretValue::parse(v.into()).unwrap()));
        assert_eq!(r.text("x abcdef y abc z"), "x [redacted] y [redacted] z");
        let out = r.json(json!({"abc": ["abcdef", 1, {"k": "-abc-"}], "n": null}));
        assert_eq!(
            out,
            json!({"[redacted]": ["[redacted]", 1, {"k": "-[redacted]-"}], "n": null})
        );
        let none = Redactor::default();
        assert_eq!(none.text("abc"), "abc");
    }
}
