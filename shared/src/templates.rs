//! Templated step settings: string values of Email and Webhook settings may use minijinja
//! templates over the execution context (`{{ input.customer }}`, `{{ steps[1].output.rows }}`,
//! `{{ execution.id }}`, `{{ action.name }}`). Syntax is checked when an action is saved;
//! rendering is strict (an unknown variable is an error, never an empty string).

use minijinja::{Environment, UndefinedBehavior, Value};

/// Whether `text` holds template syntax at all; plain strings are used as they are.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

/// Checks syntax only; `Err` names the line and the problem.
pub fn check(text: &str) -> Result<(), String> {
    if !is_template(text) {
        return Ok(());
    }
    environment()
        .template_from_str(text)
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// Renders `text` against `context`. `html` escapes values for an HTML body.
pub fn render(text: &str, context: &Value, html: bool) -> Result<String, String> {
    if !is_template(text) {
        return Ok(text.to_string());
    }
    let mut env = environment();
    if html {
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    }
    env.render_str(text, context).map_err(|e| describe(&e))
}

fn describe(error: &minijinja::Error) -> String {
    let mut message = match error.line() {
        Some(line) => format!("template error on line {line}: {}", error.kind()),
        None => format!("template error: {}", error.kind()),
    };
    if let Some(detail) = error.detail() {
        message.push_str(": ");
        message.push_str(detail);
    }
    message
}

/// Every string inside a JSON value, with its path (`body.items[0].name`), for checks and
/// rendering of webhook bodies.
pub fn render_json(
    value: &serde_json::Value,
    context: &Value,
) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    Ok(match value {
        J::String(s) => J::String(render(s, context, false)?),
        J::Array(items) => J::Array(
            items
                .iter()
                .map(|v| render_json(v, context))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(map) => J::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, context)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Checks the syntax of every string inside a JSON value.
pub fn check_json(value: &serde_json::Value) -> Result<(), String> {
    use serde_json::Value as J;
    match value {
        J::String(s) => check(s),
        J::Array(items) => items.iter().try_for_each(check_json),
        J::Object(map) => map.values().try_for_each(check_json),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn context() -> Value {
        let mut steps = BTreeMap::new();
        steps.insert(
            1i64,
            Value::from_serialize(serde_json::json!({"output": {"rows": 42}})),
        );
        minijinja::context! {
            input => Value::from_serialize(serde_json::json!({"customer": "ACME <b>"})),
            steps => Value::from_iter(steps),
            execution => minijinja::context! { id => "e-1" },
        }
    }

    #[test]
    fn renders_context_values() {
        let out = render(
            "{{ input.customer }}: {{ steps[1].output.rows }} rows ({{ execution.id }})",
            &context(),
            false,
        )
        .unwrap();
        assert_eq!(out, "ACME <b>: 42 rows (e-1)");
        assert_eq!(
            render("<p>{{ input.customer }}</p>", &context(), true).unwrap(),
            "<p>ACME &lt;b&gt;</p>"
        );
        assert_eq!(
            render("no template here {", &context(), false).unwrap(),
            "no template here {"
        );
    }

    #[test]
    fn unknown_variables_and_bad_syntax_are_errors() {
        let err = render("{{ input.nope }}", &context(), false).unwrap_err();
        assert!(err.contains("undefined"), "{err}");
        let err = render("{{ missing }}", &context(), false).unwrap_err();
        assert!(err.contains("undefined"), "{err}");
        let err = check("hello\n{{ input.customer ").unwrap_err();
        assert!(err.starts_with("template error on line 2"), "{err}");
        assert!(check("{% if x %}unclosed").is_err());
        assert!(check("plain").is_ok());
    }

    #[test]
    fn json_bodies_render_every_string() {
        let body = serde_json::json!({"who": "{{ input.customer }}", "n": 1, "list": ["{{ steps[1].output.rows }}"]});
        let out = render_json(&body, &context()).unwrap();
        assert_eq!(
            out,
            serde_json::json!({"who": "ACME <b>", "n": 1, "list": ["42"]})
        );
        assert!(check_json(&serde_json::json!({"a": ["{{ x"]})).is_err());
    }
}
