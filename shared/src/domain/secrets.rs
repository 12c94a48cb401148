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

/// Replaces every secret value in what a step produced, in the forms a value is commonly
/// shown in: as it is, escaped inside a JSON string (a `\n` in a key file), and URL-encoded
/// (a token in a query string, as an HTTP error names the URL). Longer forms first, so a value
/// that contains another is hidden whole. A value transformed otherwise (base64, a slice) is
/// not recognised.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    forms: Vec<SecretValue>,
}

/// The shortest end of a cut text that is taken for the start of a secret cut off with it.
const PARTIAL_MIN_CHARS: usize = 4;
/// The shortest string inside a JSON secret (a service account's `private_key`) redacted on
/// its own: long enough to be a credential rather than a word like `service_account`.
const INNER_MIN_CHARS: usize = 16;

/// The strings of at least [`INNER_MIN_CHARS`] inside a secret that is a JSON object or array.
fn inner_strings(value: &str, found: &mut Vec<String>) {
    fn walk(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::String(s) if s.chars().count() >= INNER_MIN_CHARS => found.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            Value::Object(map) => map.values().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    if let Ok(parsed @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str::<Value>(value)
    {
        walk(&parsed, found);
    }
}

impl Redactor {
    pub fn new(values: impl IntoIterator<Item = SecretValue>) -> Self {
        let mut values: Vec<SecretValue> = values.into_iter().collect();
        let mut inner = Vec::new();
        for value in &values {
            inner_strings(value.expose(), &mut inner);
        }
        values.extend(inner.into_iter().filter_map(|s| SecretValue::parse(s).ok()));
        let mut forms = Vec::new();
        for value in values {
            let raw = value.expose();
            let json = serde_json::to_string(raw).unwrap_or_default();
            let json = json[1..json.len().saturating_sub(1).max(1)].to_string();
            let form: String = url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
            let percent: String = raw
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            for text in [json, form, percent] {
                if !text.is_empty() && text != raw {
                    forms.push(SecretValue(text));
                }
            }
            forms.push(value);
        }
        forms.sort_by_key(|v| std::cmp::Reverse(v.0.len()));
        forms.dedup();
        Self { forms }
    }

    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for form in &self.forms {
            if out.contains(form.expose()) {
                out = out.replace(form.expose(), REDACTED);
            }
        }
        out
    }

    /// As [`text`](Self::text), for a text that was cut short: an end that is the start of
    /// a secret (at least a few characters of it) is taken for that secret, cut off.
    pub fn text_cut(&self, text: &str) -> String {
        let mut out = self.text(text);
        for form in &self.forms {
            let value = form.expose();
            let starts = value
                .char_indices()
                .map(|(i, _)| i)
                .skip(PARTIAL_MIN_CHARS)
                .collect::<Vec<_>>();
            if let Some(&end) = starts
                .iter()
                .rev()
                .find(|&&end| out.ends_with(&value[..end]))
            {
                out.truncate(out.len() - end);
                out.push_str(REDACTED);
                break;
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

    #[test]
    fn json_escaped_and_url_encoded_forms_are_redacted_too() {
        let key = "-----BEGIN KEY-----\nab+c/d=\"q\"\n-----END KEY-----";
        let r = Redactor::new([SecretValue::parse(key.into()).unwrap()]);
        let printed = serde_json::to_string(&json!({"k": key})).unwrap();
        assert_eq!(r.text(&printed), r#"{"k":"[redacted]"}"#);
        let token = "ab+c/d= e";
        let r = Redactor::new([SecretValue::parse(token.into()).unwrap()]);
        assert_eq!(r.text("u?t=ab%2Bc%2Fd%3D%20e&x"), "u?t=[redacted]&x");
        assert_eq!(r.text("u?t=ab%2Bc%2Fd%3D+e&x"), "u?t=[redacted]&x");
    }

    #[test]
    fn long_strings_inside_a_json_secret_are_redacted_on_their_own() {
        let account = r#"{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n", "n": 1}"#;
        let r = Redactor::new([SecretValue::parse(account.into()).unwrap()]);
        assert_eq!(
            r.text("key: -----BEGIN PRIVATE KEY-----\nMIIE\n."),
            "key: [redacted]."
        );
        assert_eq!(r.text("a service_account"), "a service_account");
    }

    #[test]
    fn a_secret_cut_off_at_the_end_of_a_cut_text_is_redacted() {
        let r = Redactor::new([SecretValue::parse("supersecretvalue".into()).unwrap()]);
        assert_eq!(r.text_cut("token: supersec"), "token: [redacted]");
        assert_eq!(r.text_cut("token: sup"), "token: sup", "too short to tell");
        assert_eq!(r.text_cut("token: supersecretvalue!"), "token: [redacted]!");
        assert_eq!(r.text_cut("nothing here"), "nothing here");
    }
}
