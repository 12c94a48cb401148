//! Templated step settings: string values of Email and Webhook settings may use minijinja
//! templates over the execution context (`{{ input.customer }}`, `{{ steps[1].output.rows }}`,
//! `{{ execution.id }}`, `{{ action.name }}`). Syntax is checked when an action is saved;
//! rendering is strict (an unknown variable is an error, never an empty string).
//!
//! minijinja parses chains (`x|upper|upper...`, `a.b.c...`, `1 ~ 2 ~ ...`) in loops but
//! compiles and drops the resulting trees recursively, so every template is first held to
//! [`MAX_DEPTH`] (see [`crate::domain::nesting`]), when saved and again when rendered.

use crate::domain::nesting::Depth;
use minijinja::{Environment, UndefinedBehavior, Value};

/// Filters, tests, operators, lookups and brackets in a row inside one `{{ }}` or `{% %}`
/// tag. minijinja's own parser stops block nesting at 150; real templates chain a handful.
pub const MAX_DEPTH: usize = 500;

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
    check_depth(text)?;
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
    check_depth(text)?;
    let mut env = environment();
    if html {
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    }
    env.render_str(text, context).map_err(|e| describe(&e))
}

/// Counts every tag's expression (strings skipped) against [`MAX_DEPTH`]. A tag ends at its
/// closing delimiter only outside brackets, so a `}}` inside `{'a': {'b': 1}}` cannot end the
/// count early; counting too much is safe, too little is not.
fn check_depth(text: &str) -> Result<(), String> {
    let mut rest = text;
    let mut line = 1;
    while let Some(start) = rest.find('{') {
        line += rest[..start].matches('\n').count();
        rest = &rest[start..];
        let close = match rest.get(..2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            Some("{#") => {
                let end = rest.find("#}").map_or(rest.len(), |e| e + 2);
                line += rest[..end].matches('\n').count();
                rest = &rest[end..];
                continue;
            }
            _ => {
                rest = &rest[1..];
                continue;
            }
        };
        let tag_line = line;
        let mut depth = Depth::new(MAX_DEPTH);
        let mut quote = None;
        let mut escaped = false;
        let mut word = String::new();
        let mut end = rest.len();
        let mut counted = Ok(());
        for (i, c) in rest.char_indices().skip(2) {
            if c == '\n' {
                line += 1;
            }
            if let Some(q) = quote {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    c if c == q => quote = None,
                    _ => {}
                }
                continue;
            }
            if c.is_alphanumeric() || c == '_' {
                word.push(c);
                continue;
            }
            if matches!(
                word.as_str(),
                "not" | "and" | "or" | "is" | "in" | "if" | "else"
            ) {
                counted = counted.and_then(|()| depth.op());
            }
            word.clear();
            if depth.brackets() == 0 && rest[i..].starts_with(close) {
                end = i + 2;
                break;
            }
            counted = counted.and_then(|()| match c {
                '\'' | '"' => {
                    quote = Some(c);
                    Ok(())
                }
                '(' | '[' | '{' => depth.open(),
                ')' | ']' | '}' => {
                    depth.close();
                    Ok(())
                }
                ',' => {
                    depth.separator();
                    Ok(())
                }
                c if c.is_whitespace() => Ok(()),
                _ => depth.op(),
            });
            if counted.is_err() {
                return Err(format!(
                    "template error on line {tag_line}: expression nested too deeply: more than \
                     {MAX_DEPTH} filters, operators, attribute lookups or brackets in a row"
                ));
            }
        }
        rest = &rest[end.min(rest.len())..];
    }
    Ok(())
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

    /// Pathological templates of up to the 1 MiB body limit are an error, never a crash.
    #[test]
    fn deep_templates_are_refused_when_checked_and_rendered() {
        let mib = 1024 * 1024;
        for text in [
            format!("{{{{ x{} }}}}", "|upper".repeat(mib / 6)),
            format!("{{{{ {}1 }}}}", "1+".repeat(mib / 2)),
            format!("{{{{ x{} }}}}", ".a".repeat(mib / 2)),
            format!("{{{{ {}1 }}}}", "not ".repeat(mib / 4)),
            format!("{{{{ {}1 }}}}", "1 ~ ".repeat(mib / 4)),
            format!("{{{{ {{'a': {{'b': 1}}}} {} }}}}", "|upper".repeat(mib / 6)),
            format!("{{% if {}x %}}{{% endif %}}", "not ".repeat(mib / 4)),
            format!("line\n{{{{ x{} }}}}", "[0]".repeat(mib / 3)),
        ] {
            let err = check(&text).unwrap_err();
            assert!(err.contains("nested too deeply"), "{err}");
            let err = render(&text, &context(), false).unwrap_err();
            assert!(err.contains("nested too deeply"), "{err}");
        }
        let err = check(&format!("a\nb\n{{{{ x{} }}}}", "|upper".repeat(600))).unwrap_err();
        assert!(err.starts_with("template error on line 3"), "{err}");
        // Block nesting: minijinja's own limit answers.
        let text = format!(
            "{}x{}",
            "{% if x %}".repeat(10_000),
            "{% endif %}".repeat(10_000)
        );
        assert!(check(&text).unwrap_err().contains("recursion"));
    }

    #[test]
    fn chains_within_the_limit_render() {
        let text = format!("{{{{ input.customer{} }}}}", "|lower|upper".repeat(240));
        assert_eq!(render(&text, &context(), false).unwrap(), "ACME <B>");
        let sum = format!("{{{{ {}1 }}}}", "1 + ".repeat(499));
        assert_eq!(render(&sum, &context(), false).unwrap(), "500");
        let many_tags = "{{ input.customer|upper }} ".repeat(20_000);
        assert!(check(&many_tags).is_ok());
        assert!(check("{{ '}}' ~ \"%}\" ~ 'x' }} {# |||||| #} {% if x %}{% endif %}").is_ok());
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
