//! What each step type needs in its `settings`, checked when an action is created or updated
//! (so a caller hears about a bad step at once) and parsed again by the worker before it runs.

use crate::domain::model::StepType;
use crate::domain::templates;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Typed settings of one step.
#[derive(Clone, Debug, PartialEq)]
pub enum StepSettings {
    Python(PythonSettings),
    Email(EmailSettings),
    Webhook(WebhookSettings),
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct PythonSettings {
    pub code: Option<String>,
    pub script: Option<String>,
    pub function: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailSettings {
    pub recipients: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    #[serde(default)]
    pub bcc: Vec<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub html: Option<String>,
    pub reply_to: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSettings {
    pub url: String,
    pub method: Option<String>,
    #[serde(default)]
    pub headers: Map<String, Value>,
    pub body: Option<Value>,
    #[serde(default, deserialize_with = "whole_seconds")]
    pub timeout_seconds: Option<u64>,
}

/// A JSON number that is a whole number within `i64`: `60` and also `60.0` (JSON has one kind
/// of number, and JSON Schema's `integer` takes both), not `60.5`.
pub fn whole_number(number: &serde_json::Number) -> Option<i64> {
    number.as_i64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (i64::MIN as f64..-(i64::MIN as f64)).contains(f))
            .map(|f| f as i64)
    })
}

fn whole_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    whole_number(&number)
        .and_then(|n| u64::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "invalid number `{number}`, expected a whole number of seconds"
            ))
        })
}

pub const WEBHOOK_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
pub const WEBHOOK_TIMEOUT_MAX_SECONDS: u64 = 86_400;
/// A webhook's timeout when its settings give none.
pub const WEBHOOK_TIMEOUT_DEFAULT_SECONDS: u64 = 30;

impl StepSettings {
    /// Parses and checks `settings` (already known to be JSON) for a step of `step_type`.
    /// The error names the offending key, for the caller's 400.
    pub fn parse(step_type: StepType, settings: &Value) -> Result<Self, String> {
        let object = settings
            .as_object()
            .ok_or_else(|| "must be a JSON object".to_string())?;
        match step_type {
            StepType::Python => parse_python(object).map(Self::Python),
            StepType::Email => parse_email(settings).map(Self::Email),
            StepType::Webhook => parse_webhook(settings).map(Self::Webhook),
        }
    }
}

fn typed<T: for<'de> Deserialize<'de>>(settings: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(settings).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        }
    })
}

fn parse_python(object: &Map<String, Value>) -> Result<PythonSettings, String> {
    // The seeds' JavaScript example creates a Python step with settings "{}". Callers written
    // against it must keep working, so an empty object is accepted as a step still to be
    // configured (it fails at run time with a clear note). Anything else must say what to run.
    let parsed: PythonSettings = typed(&Value::Object(object.clone()))?;
    if object.is_empty() {
        return Ok(parsed);
    }
    match (&parsed.code, &parsed.script) {
        (None, None) => return Err("a Python step needs \"code\" or \"script\"".into()),
        (Some(_), Some(_)) => {
            return Err("a Python step takes either \"code\" or \"script\", not both".into());
        }
        _ => {}
    }
    if let Some(code) = &parsed.code
        && code.trim().is_empty()
    {
        return Err("code: must not be empty".into());
    }
    if let Some(script) = &parsed.script {
        check_script_path(script).map_err(|e| format!("script: {e}"))?;
    }
    if let Some(function) = &parsed.function
        && !is_python_identifier(function)
    {
        return Err(format!("function: '{function}' is not a Python identifier"));
    }
    Ok(parsed)
}

/// A script is named relative to the worker's scripts directory and may never leave it.
pub fn check_script_path(script: &str) -> Result<(), String> {
    if script.is_empty() {
        return Err("must not be empty".into());
    }
    if script.contains('\0') || script.contains('\\') {
        return Err("must be a plain relative path".into());
    }
    if script.starts_with('/') {
        return Err("must be relative to the scripts directory".into());
    }
    if script
        .split('/')
        .any(|part| part == ".." || part.is_empty())
    {
        return Err("must not leave the scripts directory".into());
    }
    Ok(())
}

fn is_python_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

fn parse_email(settings: &Value) -> Result<EmailSettings, String> {
    if settings.get("recipients").is_none() {
        return Err("recipients: required (a list of email addresses)".into());
    }
    let parsed: EmailSettings = typed(settings)?;
    if parsed.recipients.is_empty() {
        return Err("recipients: must name at least one address".into());
    }
    for (field, list) in [
        ("recipients", &parsed.recipients),
        ("cc", &parsed.cc),
        ("bcc", &parsed.bcc),
    ] {
        for (i, address) in list.iter().enumerate() {
            check_address_or_template(address).map_err(|e| format!("{field}[{i}]: {e}"))?;
        }
    }
    if let Some(reply_to) = &parsed.reply_to {
        check_address_or_template(reply_to).map_err(|e| format!("replyTo: {e}"))?;
    }
    if let Some(subject) = &parsed.subject
        && subject.contains(['\r', '\n'])
    {
        return Err("subject: must not contain line breaks".into());
    }
    for (field, value) in [
        ("subject", &parsed.subject),
        ("body", &parsed.body),
        ("html", &parsed.html),
    ] {
        if let Some(text) = value {
            templates::check(text).map_err(|e| format!("{field}: {e}"))?;
        }
    }
    Ok(parsed)
}

/// A templated address is checked once rendered, at run time; a plain one now.
fn check_address_or_template(address: &str) -> Result<(), String> {
    if templates::is_template(address) {
        if address.contains(['\r', '\n']) {
            return Err("must not contain line breaks".into());
        }
        templates::check(address)
    } else {
        check_email_address(address)
    }
}

/// A deliberately plain check (one `@`, something on each side, no spaces or control
/// characters), on `a@b.c` or `Display Name <a@b.c>`: enough to catch typos and header
/// injection at create time; the worker parses addresses fully before sending.
pub fn check_email_address(address: &str) -> Result<(), String> {
    let bad = || format!("'{}' is not an email address", address.escape_debug());
    if address.chars().any(char::is_control) {
        return Err(bad());
    }
    let bare = match address.trim().strip_suffix('>') {
        Some(rest) => {
            let (name, inner) = rest.rsplit_once('<').ok_or_else(bad)?;
            if name.contains(['<', '>']) {
                return Err(bad());
            }
            inner
        }
        None => address,
    };
    if bare.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    match bare.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(())
        }
        _ => Err(bad()),
    }
}

fn parse_webhook(settings: &Value) -> Result<WebhookSettings, String> {
    if settings.get("url").is_none() {
        return Err("url: required".into());
    }
    let parsed: WebhookSettings = typed(settings)?;
    if templates::is_template(&parsed.url) {
        templates::check(&parsed.url).map_err(|e| format!("url: {e}"))?;
    } else {
        check_webhook_url(&parsed.url)?;
    }
    if let Some(method) = &parsed.method
        && !WEBHOOK_METHODS.contains(&method.as_str())
    {
        return Err(format!(
            "method: '{method}' is not one of {}",
            WEBHOOK_METHODS.join(", ")
        ));
    }
    for (name, value) in &parsed.headers {
        if name.is_empty() || !name.bytes().all(is_header_name_byte) {
            return Err(format!(
                "headers: '{}' is not a valid header name",
                name.escape_debug()
            ));
        }
        match value {
            Value::String(v) if !v.contains(['\r', '\n', '\0']) => {
                templates::check(v).map_err(|e| format!("headers.{name}: {e}"))?;
            }
            Value::String(_) => {
                return Err(format!("headers.{name}: must not contain line breaks"));
            }
            _ => return Err(format!("headers.{name}: must be a string")),
        }
    }
    if let Some(body) = &parsed.body {
        templates::check_json(body).map_err(|e| format!("body: {e}"))?;
    }
    if let Some(t) = parsed.timeout_seconds
        && !(1..=WEBHOOK_TIMEOUT_MAX_SECONDS).contains(&t)
    {
        return Err(format!(
            "timeoutSeconds: must be between 1 and {WEBHOOK_TIMEOUT_MAX_SECONDS}"
        ));
    }
    Ok(parsed)
}

/// An absolute http(s) URL with a host (checked again, rendered, before each request).
pub fn check_webhook_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("url: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "url: scheme '{}' is not http or https",
            url.scheme()
        ));
    }
    if url.host().is_none() {
        return Err("url: has no host".into());
    }
    Ok(())
}

fn is_header_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(t: StepType, v: Value) -> Result<StepSettings, String> {
        StepSettings::parse(t, &v)
    }

    #[test]
    fn python_needs_code_or_script_unless_empty() {
        assert!(parse(StepType::Python, json!({})).is_ok());
        assert!(parse(StepType::Python, json!({"script": "a/b.py"})).is_ok());
        assert!(parse(StepType::Python, json!({"code": "result = 1"})).is_ok());
        let err = parse(StepType::Python, json!({"function": "main"})).unwrap_err();
        assert!(err.contains("\"code\" or \"script\""), "{err}");
        assert!(parse(StepType::Python, json!({"code": "x", "script": "y.py"})).is_err());
        assert!(
            parse(StepType::Python, json!({"code": 5}))
                .unwrap_err()
                .contains("code")
        );
        assert!(parse(StepType::Python, json!([])).is_err());
    }

    #[test]
    fn script_paths_stay_inside() {
        for bad in [
            "../x.py",
            "/etc/passwd",
            "a/../../x.py",
            "a//b.py",
            "",
            "a\\b.py",
        ] {
            assert!(check_script_path(bad).is_err(), "{bad}");
        }
        assert!(check_script_path("reports/daily.py").is_ok());
    }

    #[test]
    fn email_addresses_are_checked() {
        assert!(parse(StepType::Email, json!({"recipients": ["team@company.com"]})).is_ok());
        assert!(
            parse(StepType::Email, json!({}))
                .unwrap_err()
                .contains("recipients")
        );
        assert!(parse(StepType::Email, json!({"recipients": []})).is_err());
        let err = parse(
            StepType::Email,
            json!({"recipients": ["a@b.c", "x\r\nBcc: e@v.il"]}),
        )
        .unwrap_err();
        assert!(err.starts_with("recipients[1]"), "{err}");
        assert!(
            parse(
                StepType::Email,
                json!({"recipients": ["a@b.c"], "cc": ["nope"]})
            )
            .is_err()
        );
        assert!(
            parse(
                StepType::Email,
                json!({"recipients": ["a@b.c"], "subject": "a\nb"})
            )
            .is_err()
        );
    }

    #[test]
    fn webhook_needs_http_url() {
        assert!(parse(StepType::Webhook, json!({"url": "https://example.com/x"})).is_ok());
        assert!(
            parse(StepType::Webhook, json!({}))
                .unwrap_err()
                .contains("url")
        );
        assert!(parse(StepType::Webhook, json!({"url": "ftp://x"})).is_err());
        assert!(parse(StepType::Webhook, json!({"url": "not a url"})).is_err());
        assert!(
            parse(
                StepType::Webhook,
                json!({"url": "http://x", "method": "BREW"})
            )
            .is_err()
        );
        assert!(
            parse(
                StepType::Webhook,
                json!({"url": "http://x", "headers": {"a": "b\r\nc: d"}})
            )
            .is_err()
        );
        assert!(
            parse(
                StepType::Webhook,
                json!({"url": "http://x", "timeoutSeconds": 0})
            )
            .is_err()
        );
        assert!(
            parse(
                StepType::Webhook,
                json!({"url": "http://x", "timeoutSeconds": 5.0})
            )
            .is_ok()
        );
        assert!(
            parse(
                StepType::Webhook,
                json!({"url": "http://x", "timeoutSeconds": 5.5})
            )
            .is_err()
        );
    }
}
#[cfg(test)]
mod templated {
    use super::*;
    #[test]
    fn templated_settings_parse() {
        let email = serde_json::json!({"recipients": ["{{ input.email }}", "Team <team@company.test>"], "subject": "Report for {{ input.customer }}", "html": "<p>{{ steps[1].output.rows }}</p>"});
        StepSettings::parse(StepType::Email, &email).unwrap();
        let hook = serde_json::json!({"url": "{{ input.callback }}", "headers": {"X-Run": "{{ execution.id }}"}, "body": {"rows": "{{ steps[1].output.rows }}"}});
        StepSettings::parse(StepType::Webhook, &hook).unwrap();
    }
}
