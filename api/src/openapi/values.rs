//! Schemas of the validated values that request bodies share: ids, names, free text, JSON
//! values, Python names, email addresses, templates and time zones. Lengths come from the
//! constants the validation uses; the patterns state the same rules as the checks in
//! `actuate_shared::domain::names`, `step_settings` and `storable` (`api/tests/api/document.rs` holds
//! the two to the same verdicts, value by value).
//!
//! Patterns are ECMA-262 and end with `(?![\s\S])` (the end of the string) rather than `$`,
//! which some engines also match before a final line break.

use super::{Schemas, reference};
use actuate_shared::domain::draft::limits;
use actuate_shared::domain::storable;
use serde_json::{Value, json};

/// Characters Rust's `char::is_whitespace` counts, as a character-class body.
macro_rules! whitespace {
    () => {
        r"\t-\r\u0085 \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}
pub(super) use whitespace;

/// Whitespace that is not a control character.
macro_rules! visible_whitespace {
    () => {
        r" \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}

/// Control characters and bidirectional formatting characters, which no name may hold.
macro_rules! control_or_bidi {
    () => {
        r"\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069"
    };
}

/// The end of the string.
macro_rules! end {
    () => {
        r"(?![\s\S])"
    };
}
pub(super) use end;

/// A name: not blank, no control or bidirectional formatting characters.
pub const NAME_PATTERN: &str = concat!(
    "^[^",
    control_or_bidi!(),
    "]*[^",
    control_or_bidi!(),
    visible_whitespace!(),
    "][^",
    control_or_bidi!(),
    "]*",
    end!()
);

/// Any text without NUL.
pub const NO_NUL_PATTERN: &str = concat!(r"^[^\u0000]*", end!());

/// The JSON text of one object, as a string.
const JSON_OBJECT_TEXT_PATTERN: &str = concat!(
    r"^[\t\n\r ]*\{[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*\}[\t\n\r ]*",
    end!()
);

const GUID_PATTERN: &str = concat!(
    r"^(?:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}",
    r"|[0-9A-Fa-f]{32}",
    r"|\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}",
    r"|[Uu][Rr][Nn]:[Uu][Uu][Ii][Dd]:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})",
    end!()
);

/// A Python identifier: what `str.isidentifier` accepts, within the first 0xAA code points.
const PYTHON_FUNCTION_PATTERN: &str = concat!(
    r"^[^\u0000-\u0040\u005B-\u005E\u0060\u007B-\u00A9]",
    r"[^\u0000-\u002F\u003A-\u0040\u005B-\u005E\u0060\u007B-\u00A9]*",
    end!()
);

/// The characters an address part may not hold: `@`, control characters, whitespace.
macro_rules! not_in_address {
    () => {
        concat!(r"@\u0000-\u001F\u007F-\u009F", visible_whitespace!())
    };
}

/// `a@b.c` or `Name <a@b.c>`.
const EMAIL_PATTERN: &str = concat!(
    "^(?:[^",
    not_in_address!(),
    "]+@[^",
    not_in_address!(),
    ".>](?:[^",
    not_in_address!(),
    "]*[^",
    not_in_address!(),
    ".>])?",
    r"|[^<>\u0000-\u001F\u007F-\u009F]*<[^<",
    not_in_address!(),
    "]+@[^<",
    not_in_address!(),
    ".](?:[^<",
    not_in_address!(),
    "]*[^<",
    not_in_address!(),
    ".])?>[",
    visible_whitespace!(),
    "]*)",
    end!()
);

/// How deep a JSON body may nest: serde_json's recursion limit, which the body parser keeps.
const JSON_MAX_DEPTH: usize = 128;

/// A string holding a minijinja template: one of its openers somewhere.
pub const TEMPLATE_OPENER: &str = r"(?:\{\{|\{%|\{#)";

pub fn schemas() -> Schemas {
    let schemas = vec![
        (
            "Guid",
            json!({
                "type": "string",
                "pattern": GUID_PATTERN,
                "description": "A GUID, hex digits in any case: `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (as answers spell it), or the same 32 digits without hyphens, in braces, or after `urn:uuid:`."
            }),
        ),
        (
            "Name",
            json!({
                "type": "string",
                "minLength": 1,
                "maxLength": limits::NAME_MAX_CHARS,
                "pattern": NAME_PATTERN,
                "description": format!(
                    "A name: 1 to {} characters, not blank (not only whitespace), without control characters (CR, LF, tab, NUL, U+007F-U+009F, ...) or bidirectional formatting characters (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069).",
                    limits::NAME_MAX_CHARS
                )
            }),
        ),
        (
            "Description",
            json!({
                "type": ["string", "null"],
                "maxLength": limits::DESCRIPTION_MAX_CHARS,
                "pattern": NO_NUL_PATTERN,
                "description": format!(
                    "Free text: up to {} characters, any but NUL.",
                    limits::DESCRIPTION_MAX_CHARS
                )
            }),
        ),
        (
            "StorableJson",
            json!({
                "description": format!(
                    "Any JSON value without NUL (\\u0000) in any string or object key (PostgreSQL cannot store it) and without numbers of 1e308 or more in magnitude (PostgreSQL gives them back as digits that no longer read as numbers); at most {} levels deep.",
                    JSON_MAX_DEPTH
                ),
                "pattern": NO_NUL_PATTERN,
                "exclusiveMaximum": storable::MAX_NUMBER,
                "exclusiveMinimum": -storable::MAX_NUMBER,
                "propertyNames": {"pattern": NO_NUL_PATTERN},
                "items": reference("StorableJson"),
                "additionalProperties": reference("StorableJson")
            }),
        ),
        ("JsonObjectText", json_object_text(None)),
        (
            "PythonFunction",
            json!({
                "type": ["string", "null"],
                "pattern": PYTHON_FUNCTION_PATTERN,
                "description": "A Python identifier: the function to call with the execution context (default `main`, if defined)."
            }),
        ),
        (
            "EmailAddress",
            json!({
                "description": "`a@b.c` or `Name <a@b.c>` (no control characters; no whitespace in the address itself), or a template rendering to one (no line breaks; checked again once rendered).",
                "anyOf": [
                    {"type": "string", "pattern": EMAIL_PATTERN},
                    {
                        "type": "string",
                        "pattern": format!(r"^[^\r\n]*{TEMPLATE_OPENER}[^\r\n]*{}", end!()),
                        "description": "A minijinja template (its syntax is checked)."
                    }
                ]
            }),
        ),
        (
            "TemplateText",
            json!({
                "type": ["string", "null"],
                "description": "Text that may be a minijinja template over the execution (`{{ input.x }}`, `{{ steps[1].output }}`, ...); a template syntax error is a 400."
            }),
        ),
        (
            "TimeZone",
            json!({
                "type": "string",
                "description": "An IANA time zone name, exactly as spelled in the tz database (case-sensitive); the list is the one this build knows.",
                "enum": chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect::<Vec<_>>()
            }),
        ),
    ];
    schemas
        .into_iter()
        .map(|(name, schema)| (name.to_string(), schema))
        .collect()
}

/// A string holding the JSON text of one object; with `content`, the schema that object meets.
pub fn json_object_text(content: Option<&str>) -> Value {
    let mut schema = json!({
        "type": "string",
        "minLength": 2,
        "pattern": JSON_OBJECT_TEXT_PATTERN,
        "contentMediaType": "application/json",
        "description": "A string holding the JSON text of one object (not empty, not another JSON value); invalid JSON is a 400."
    });
    if let Some(name) = content {
        schema["contentSchema"] = reference(name);
    }
    schema
}
