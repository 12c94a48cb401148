//! Schemas of steps in create and update bodies: one request schema per `StepType`, each
//! with the settings object that type takes (the rules of
//! `actuate_shared::domain::step_settings`).

use super::values::{TEMPLATE_OPENER, end, json_object_text, whitespace};
use super::{Schemas, reference, references};
use crate::python_syntax;
use actuate_shared::domain::model::StepType;
use actuate_shared::domain::retry::{BACKOFF_FACTOR_MAX, DELAY_SECONDS_MAX, MAX_ATTEMPTS_MAX};
use actuate_shared::domain::step_settings::{WEBHOOK_METHODS, WEBHOOK_TIMEOUT_MAX_SECONDS};
use serde_json::{Value, json};

/// A relative path: no leading `/`, no backslash, no NUL, no empty or `..` segment.
macro_rules! segment {
    () => {
        r"(?:[^/\\\u0000.][^/\\\u0000]*|\.(?:[^/\\\u0000.][^/\\\u0000]*)?|\.\.[^/\\\u0000]+)"
    };
}
const SCRIPT_PATTERN: &str = concat!("^", segment!(), "(?:/", segment!(), ")*", end!());

/// What a WHATWG URL parser reads as an http(s) URL with a host.
const URL_PATTERN: &str = concat!(
    r"^[\u0000-\u0020]*[Hh][\t\n\r]*[Tt][\t\n\r]*[Tt][\t\n\r]*[Pp][\t\n\r]*(?:[Ss][\t\n\r]*)?:",
    r"[\s\S]*[^/\\\u0000-\u0020][\s\S]*",
    end!()
);

/// An HTTP token (RFC 9110).
const HEADER_NAME_PATTERN: &str = concat!(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+", end!());

fn settings_name(step_type: StepType) -> String {
    format!("{step_type}StepSettings")
}

fn request_name(step_type: StepType) -> String {
    format!("{step_type}StepRequest")
}

pub fn schemas() -> Schemas {
    let types = StepType::ALL;
    let mut schemas: Schemas = vec![
        (
            "StepRequest".into(),
            json!({
                "description": "A step in a create or update body, by `stepType`.",
                "oneOf": references(types.iter().map(|t| request_name(*t))),
                "discriminator": {
                    "propertyName": "stepType",
                    "mapping": types
                        .iter()
                        .map(|t| (t.to_string(), reference(&request_name(*t))["$ref"].clone()))
                        .collect::<serde_json::Map<_, _>>()
                }
            }),
        ),
        (
            "StepSettings".into(),
            json!({
                "description": "The JSON object held by a step's `settings`, by `stepType`.",
                "anyOf": references(types.iter().map(|t| settings_name(*t)))
            }),
        ),
    ];
    for step_type in types {
        schemas.push((settings_name(*step_type), settings(*step_type)));
        schemas.push((request_name(*step_type), request(*step_type)));
    }
    schemas
}

fn request(step_type: StepType) -> Value {
    let settings = settings_name(step_type);
    json!({
        "type": "object",
        "description": format!("A step of type `{step_type}` in a create or update body."),
        "required": ["stepType", "settings"],
        "properties": {
            "stepId": {
                "anyOf": [{"type": "null"}, reference("Guid")],
                "description": "On update: the existing step of this action that this entry updates (another id is a 400). Ignored on create. An id listed twice is a 400."
            },
            "stepNumber": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": i32::MAX,
                "description": "Execution order; unique in the list (a number used twice is a 400). When absent, assigned after the highest given number, in list order."
            },
            "stepType": {"type": "string", "const": step_type.as_str()},
            "description": reference("Description"),
            "settings": {
                "description": "The step's settings: a string containing a JSON object (documented) or, as an extension, the object itself (stored as its string form).",
                "oneOf": [json_object_text(Some(&settings)), reference(&settings)]
            },
            "retry": retry_request()
        }
    })
}

/// The `retry` object a request may give a step (absent fields take their defaults).
fn retry_request() -> Value {
    json!({
        "type": ["object", "null"],
        "description": "Extension: how a transient failure of the step is retried (a Python exception; a webhook timeout, 408, 429 or 5xx, honouring Retry-After; an SMTP 4xx). Absent or null fields take the defaults shown; maxDelaySeconds must not be less than initialDelaySeconds. Null or absent: not retried.",
        "additionalProperties": false,
        "properties": {
            "maxAttempts": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ATTEMPTS_MAX, "default": 3, "description": "Tries in all, the first included."},
            "initialDelaySeconds": {"type": ["number", "null"], "minimum": 0, "maximum": DELAY_SECONDS_MAX, "default": 1},
            "backoffFactor": {"type": ["number", "null"], "minimum": 1, "maximum": BACKOFF_FACTOR_MAX, "default": 2},
            "maxDelaySeconds": {"type": ["number", "null"], "minimum": 0, "maximum": DELAY_SECONDS_MAX, "default": 60, "description": "Default 60, or initialDelaySeconds when that is larger."}
        }
    })
}

fn settings(step_type: StepType) -> Value {
    match step_type {
        StepType::Python => python(),
        StepType::Email => email(),
        StepType::Webhook => webhook(),
    }
}

fn python() -> Value {
    /// `other` must be absent or null beside the chosen key.
    fn not_also(other: &str, description: &str) -> Value {
        json!({
            "description": description,
            "required": [other],
            "properties": {other: {"not": {"type": "null"}}}
        })
    }
    json!({
        "type": "object",
        "description": "`Python` step: `code` (inline source, checked to parse as Python 3.11, within CPython's nesting limits) or `script` (a relative path under the worker's scripts directory), not both, and optionally `function`. `{}` exactly (no keys at all) is accepted as a step not yet configured (it fails when run). Unknown keys are ignored.",
        "oneOf": [
            {"title": "not yet configured", "type": "object", "maxProperties": 0},
            {
                "title": "inline code",
                "type": "object",
                "required": ["code"],
                "properties": {
                    "code": {
                        "type": "string",
                        "pattern": concat!("[^", whitespace!(), "]"),
                        "description": format!(
                            "Python 3.11 source; not blank. A syntax error (or nesting past CPython's limits: {} brackets, {} indented blocks, about {} operators in a row) is a 400 naming the line and column.",
                            python_syntax::MAX_BRACKETS,
                            python_syntax::MAX_INDENT,
                            python_syntax::MAX_DEPTH
                        )
                    },
                    "function": reference("PythonFunction")
                },
                "not": not_also("script", "not a `script` as well (a null one counts as absent)")
            },
            {
                "title": "script file",
                "type": "object",
                "required": ["script"],
                "properties": {
                    "script": {
                        "type": "string",
                        "pattern": SCRIPT_PATTERN,
                        "description": "A relative path under the worker's scripts directory: no leading `/`, no backslash, no NUL, no empty or `..` segment."
                    },
                    "function": reference("PythonFunction")
                },
                "not": not_also("code", "not `code` as well (a null one counts as absent)")
            }
        ]
    })
}

fn email() -> Value {
    let addresses = json!({"type": "array", "items": reference("EmailAddress")});
    json!({
        "type": "object",
        "description": "`Email` step; unknown keys are ignored. String values may be minijinja templates over the execution.",
        "required": ["recipients"],
        "properties": {
            "recipients": {
                "type": "array",
                "minItems": 1,
                "items": reference("EmailAddress"),
                "description": "At least one address."
            },
            "cc": addresses,
            "bcc": addresses,
            "subject": {
                "type": ["string", "null"],
                "pattern": concat!(r"^[^\r\n]*", end!()),
                "description": "One line (no CR or LF); may be a template."
            },
            "body": {"type": ["string", "null"], "description": "Text body; may be a template."},
            "html": {
                "type": ["string", "null"],
                "description": "HTML alternative; may be a template (rendered with HTML escaping)."
            },
            "replyTo": {"anyOf": [{"type": "null"}, reference("EmailAddress")]}
        }
    })
}

fn webhook() -> Value {
    let mut methods: Vec<Value> = WEBHOOK_METHODS.iter().map(|m| json!(m)).collect();
    methods.push(Value::Null);
    json!({
        "type": "object",
        "description": "`Webhook` step: any 2xx answer completes the step. Unknown keys are ignored.",
        "required": ["url"],
        "properties": {
            "url": {
                "description": "An absolute http(s) URL with a host, as a WHATWG URL parser reads it (so `HTTPS://Example.com` and `http:example.com` are accepted), or a template rendering to one (checked once rendered).",
                "anyOf": [
                    {"type": "string", "pattern": URL_PATTERN},
                    {"type": "string", "pattern": format!(r"^[\s\S]*{TEMPLATE_OPENER}[\s\S]*{}", end!())}
                ]
            },
            "method": {"type": ["string", "null"], "enum": methods, "default": "POST"},
            "headers": {
                "type": "object",
                "propertyNames": {"pattern": HEADER_NAME_PATTERN},
                "additionalProperties": {
                    "type": "string",
                    "pattern": concat!(r"^[^\r\n\u0000]*", end!())
                },
                "description": "Header names are HTTP tokens; values are strings without CR, LF or NUL and may be templates."
            },
            "body": {
                "description": "Any JSON value: a string is sent as text, anything else as JSON. Every string inside may be a template."
            },
            "timeoutSeconds": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": WEBHOOK_TIMEOUT_MAX_SECONDS,
                "default": actuate_shared::domain::step_settings::WEBHOOK_TIMEOUT_DEFAULT_SECONDS
            }
        }
    })
}
