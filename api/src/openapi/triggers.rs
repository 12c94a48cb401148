//! Schemas of triggers in create and update bodies: one request schema per `TriggerType`, each
//! with the settings object that type takes (the rules of `actuate_shared::domain::schedule`).

use super::values::{end, json_object_text, whitespace};
use super::{Schemas, reference, references};
use actuate_shared::domain::draft::limits;
use actuate_shared::domain::model::TriggerType;
use actuate_shared::domain::schedule::CRON_MAX_CHARS;
use serde_json::{Map, Value, json};

/// `HH:MM`, 24-hour, one or two digits each, whitespace tolerated before either number (as
/// chrono's `%H:%M` reads it).
const TIME_PATTERN: &str = concat!(
    "^[",
    whitespace!(),
    "]*(?:[01]?[0-9]|2[0-3]):[",
    whitespace!(),
    "]*[0-5]?[0-9]",
    end!()
);

/// A day name, full or its first three letters, in any case.
const DAY_OF_WEEK_PATTERN: &str = concat!(
    r"^(?:[Mm][Oo][Nn](?:[Dd][Aa][Yy])?|[Tt][Uu][Ee](?:[Ss][Dd][Aa][Yy])?",
    r"|[Ww][Ee][Dd](?:[Nn][Ee][Ss][Dd][Aa][Yy])?|[Tt][Hh][Uu](?:[Rr][Ss][Dd][Aa][Yy])?",
    r"|[Ff][Rr][Ii](?:[Dd][Aa][Yy])?|[Ss][Aa][Tt](?:[Uu][Rr][Dd][Aa][Yy])?|[Ss][Uu][Nn](?:[Dd][Aa][Yy])?)",
    end!()
);

/// 5 or 6 fields, or a nickname, as croner reads them; the fields' own grammar is left to it.
const CRON_PATTERN: &str = concat!(
    "^[",
    whitespace!(),
    "]*(?:@(?:[Yy][Ee][Aa][Rr][Ll][Yy]|[Aa][Nn][Nn][Uu][Aa][Ll][Ll][Yy]|[Mm][Oo][Nn][Tt][Hh][Ll][Yy]",
    "|[Ww][Ee][Ee][Kk][Ll][Yy]|[Dd][Aa][Ii][Ll][Yy]|[Hh][Oo][Uu][Rr][Ll][Yy])|[^",
    whitespace!(),
    "]+(?:[",
    whitespace!(),
    "]+[^",
    whitespace!(),
    "]+){4,5})[",
    whitespace!(),
    "]*",
    end!()
);

const DATE_PATTERN: &str = concat!("^[0-9]{4}-[0-9]{2}-[0-9]{2}", end!());

fn settings_name(trigger_type: TriggerType) -> String {
    format!("{trigger_type}Settings")
}

fn request_name(trigger_type: TriggerType) -> String {
    format!("{trigger_type}Request")
}

/// The order the document lists them in: the four schedulers, cron, then events.
const ORDER: [TriggerType; 6] = [
    TriggerType::HourlyScheduler,
    TriggerType::DailyScheduler,
    TriggerType::WeeklyScheduler,
    TriggerType::MonthlyScheduler,
    TriggerType::CronScheduler,
    TriggerType::EventTrigger,
];

pub fn schemas() -> Schemas {
    let mut schemas: Schemas = vec![
        (
            "TriggerRequest".into(),
            json!({
                "description": "A trigger in a create or update body, by `triggerType`.",
                "oneOf": references(ORDER.iter().map(|t| request_name(*t))),
                "discriminator": {
                    "propertyName": "triggerType",
                    "mapping": ORDER
                        .iter()
                        .map(|t| (t.to_string(), reference(&request_name(*t))["$ref"].clone()))
                        .collect::<Map<_, _>>()
                }
            }),
        ),
        (
            "TriggerSettings".into(),
            json!({
                "description": "The JSON object held by a trigger's `settings`, by `triggerType`.",
                "anyOf": references(ORDER.iter().map(|t| settings_name(*t)))
            }),
        ),
    ];
    for trigger_type in ORDER {
        schemas.push((settings_name(trigger_type), settings(trigger_type)));
    }
    for trigger_type in ORDER {
        schemas.push((request_name(trigger_type), request(trigger_type)));
    }
    schemas
}

fn time() -> Value {
    json!({
        "type": ["string", "null"],
        "pattern": TIME_PATTERN,
        "default": "00:00",
        "description": "`HH:MM` local time, 24-hour (`6:5` is 06:05; whitespace before either number is tolerated)."
    })
}

fn settings(trigger_type: TriggerType) -> Value {
    let mut properties = Map::new();
    let mut required = vec![];
    match trigger_type {
        TriggerType::HourlyScheduler => {
            properties.insert(
                "minute".into(),
                json!({"type": ["integer", "null"], "minimum": 0, "maximum": 59, "default": 0}),
            );
        }
        TriggerType::DailyScheduler => {
            properties.insert("time".into(), time());
        }
        TriggerType::WeeklyScheduler => {
            properties.insert(
                "dayOfWeek".into(),
                json!({
                    "type": ["string", "null"],
                    "pattern": DAY_OF_WEEK_PATTERN,
                    "description": "A day name, full or its first three letters, in any case (`Monday`, `mon`); default the start date's."
                }),
            );
            properties.insert("time".into(), time());
        }
        TriggerType::MonthlyScheduler => {
            properties.insert(
                "dayOfMonth".into(),
                json!({
                    "type": ["integer", "null"],
                    "minimum": 1,
                    "maximum": 31,
                    "description": "Clamped to the month's last day; default the start date's."
                }),
            );
            properties.insert("time".into(), time());
        }
        TriggerType::CronScheduler => {
            properties.insert(
                "cron".into(),
                json!({
                    "type": "string",
                    "maxLength": CRON_MAX_CHARS,
                    "pattern": CRON_PATTERN,
                    "description": format!(
                        "5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or a nickname (`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@hourly`), as the croner crate reads them; at most {CRON_MAX_CHARS} bytes."
                    )
                }),
            );
            required.push("cron");
        }
        TriggerType::EventTrigger => {}
    }
    properties.insert(
        "timezone".into(),
        json!({
            "anyOf": [{"type": "null"}, reference("TimeZone")],
            "default": "UTC",
            "description": "IANA time zone name; checked for every trigger type."
        }),
    );
    properties.insert(
        "catchUp".into(),
        json!({
            "type": ["string", "null"],
            "enum": ["latest", "none", null],
            "default": "latest",
            "description": "What to do with slots missed while no scheduler ran; checked for every trigger type."
        }),
    );
    let mut schema = json!({
        "type": "object",
        "description": format!(
            "Settings of a trigger of type `{trigger_type}`; null values count as not given and unknown keys are ignored."
        ),
        "properties": properties,
    });
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

fn request(trigger_type: TriggerType) -> Value {
    let settings = settings_name(trigger_type);
    let mut required = vec!["triggerType"];
    let mut settings_description = "A string containing a JSON object (documented) or, as an extension, the object itself (stored as its string form); absent or null means `\"{}\"`.".to_string();
    let mut settings_forms = vec![json_object_text(Some(&settings)), reference(&settings)];
    let event_name = match trigger_type {
        TriggerType::CronScheduler => {
            required.push("settings");
            settings_description.push_str(" Required for this type, since `cron` is.");
            optional_event_name()
        }
        TriggerType::EventTrigger => {
            required.push("eventName");
            settings_forms.insert(0, json!({"type": "null"}));
            json!({
                "$ref": "#/components/schemas/Name",
                "description": "The event that fires this trigger (`POST /action/event/{eventName}`); the rules of a name."
            })
        }
        _ => {
            settings_forms.insert(0, json!({"type": "null"}));
            optional_event_name()
        }
    };
    json!({
        "type": "object",
        "description": format!("A trigger of type `{trigger_type}` in a create or update body."),
        "required": required,
        "properties": {
            "triggerId": {
                "anyOf": [{"type": "null"}, reference("Guid")],
                "description": "On update: the existing trigger of this action that this entry updates (another id is a 400). Ignored on create. An id listed twice is a 400."
            },
            "triggerType": {"type": "string", "const": trigger_type.as_str()},
            "settings": {"description": settings_description, "oneOf": settings_forms},
            "frequency": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": limits::FREQUENCY_MAX,
                "default": 1,
                "description": "Fires every `frequency` hours / days / weeks / months from `startDate`; checked for every trigger type, used by the four schedulers."
            },
            "eventName": event_name,
            "startDate": {
                "type": ["string", "null"],
                "format": "date",
                "pattern": DATE_PATTERN,
                "description": "`YYYY-MM-DD`; default: the day the trigger is created."
            }
        }
    })
}

fn optional_event_name() -> Value {
    json!({
        "anyOf": [{"type": "null"}, reference("Name")],
        "description": "Only used by `EventTrigger`, but checked as a name when given."
    })
}
