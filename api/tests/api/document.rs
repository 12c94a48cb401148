//! The document's request schemas agree with the API's validation, value by value: every value
//! below is judged by the document (JSON Schema 2020-12 with formats, by the test virtualenv's
//! openapi-schema-validator) and by the API (a real request), and both verdicts must be the
//! same. Schemathesis (`tests/schemathesis/run.sh`) explores the same ground at random; this
//! pins the edge cases: whitespace and control characters in names, the address and URL forms
//! the parsers take, the lenient time of day, the GUID spellings, ...
//!
//! Only rules the document can state are judged here. Where the API applies a grammar on top
//! (Python code must parse, templates must compile, cron fields must mean something), the
//! document describes it and allows more; those values are not in these tables.

use crate::helpers::{TestApp, expect_json};
use actuate_shared::domain::model::TriggerType;
use actuate_shared::domain::schedule::Schedule;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

/// How a value reaches the API.
enum Via {
    /// A create body, built around the value.
    Create(fn(Value) -> Value),
    /// The value as the body of `PUT /action/{id}`.
    Update,
    /// `POST /action/event/{value}`.
    EventName,
    /// `POST /action/event/nightly` with the value as its body.
    EventBody,
    /// The value as the whole body of `POST /action/execute/{id}`.
    ExecuteBody,
    /// The value as `Idempotency-Key` of `POST /action/execute/{id}`.
    IdempotencyKey,
    /// `GET /actionexecution/action/{id}?{name}={value}`.
    Query(&'static str),
}

struct Field {
    /// The schema in the document that judges the value.
    schema: &'static str,
    via: Via,
    values: Vec<Value>,
}

/// The name of every create built around a value; each accepted one is renamed to a new name
/// before it is sent (names are unique in a project).
const ANY_NAME: &str = "(any name)";

fn python(settings: Value) -> Value {
    json!({"stepType": "Python", "settings": settings})
}

fn with_step(step: Value) -> Value {
    json!({"name": ANY_NAME, "steps": [step]})
}

fn with_trigger(trigger: Value) -> Value {
    json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "triggers": [trigger]})
}

fn daily(settings: Value) -> Value {
    with_trigger(json!({"triggerType": "DailyScheduler", "settings": settings}))
}

fn fields() -> Vec<Field> {
    let names = json!([
        "Daily Report ✓ 日本",
        "a",
        "x",
        " ",
        "  x  ",
        "\u{3000}",
        "\u{a0}",
        "x\u{200b}",
        "\u{feff}",
        "a\u{202a}b",
        "a\u{202e}",
        "\u{2066}x",
        "a\u{2069}",
        "\u{200e}",
        "\u{200f}x",
        "\u{61c}",
        "a\u{85}",
        "a\u{9f}",
        "a\u{7f}",
        "a\tb",
        "a\r\nb",
        "a\u{0}b",
        "\u{2028}",
        "\u{2065}",
        "\u{180e}",
        "a\u{1f600}",
        "",
    ]);
    let mut names = names.as_array().unwrap().clone();
    names.push(json!("n".repeat(200)));
    names.push(json!("n".repeat(201)));
    let addresses = json!([
        "a@b.c",
        "a@b",
        "@b",
        "a@",
        "a@.b",
        "a@b.",
        "a@@b",
        "a b@c",
        "Name <a@b.c>",
        "Name<a@b.c>",
        " <a@b.c>",
        "<a@b.c> ",
        "<a@b.c>\u{3000}",
        "<a@b.c>\t",
        "N<a <a@b.c>",
        "N>a <a@b.c>",
        "<a>b@c>",
        "<a@b>>",
        "a@b>",
        "a<b@c",
        "<a@b.c",
        "a@b.c ",
        " a@b.c",
        "Ñame <ä@ö.ü>",
        "a@b\u{a0}c",
        "\u{3000}<a@b.c>",
        "<@b.c>",
        "<a@>",
        "<a@.b>",
        "<a@b.>",
        "<a@b@c>",
        "a\u{85}@b",
        "<a@b.c>>",
        "N <<a@b.c>",
        "a.@b",
        "a@b..c",
        "<a<b@c>",
        "a>@b",
        "{{ input.to }}",
        "{{ input.to }}\n",
        "Team <{{ input.to }}>",
    ]);
    let times = json!([
        "06:00",
        "6:00",
        "06:0",
        "6:5",
        " 06:00",
        "06:00 ",
        "24:00",
        "23:59",
        "06:60",
        "\t6:00",
        "06:\u{3000}5",
        "\u{85}6:00",
        "\u{1c}6:00",
        "06:00:00",
        "0:00",
        "19:59",
        "20:00",
        "29:00",
        "006:00",
        "+6:00",
        "06 :00",
        null,
        600,
    ]);
    let days = json!([
        "Monday",
        "mon",
        "MON",
        "mOnDaY",
        "tues",
        "tue",
        "Tuesday",
        "wed",
        "wednesday",
        "thu",
        "thur",
        "thursday",
        "fri",
        "friday",
        "sat",
        "saturday",
        "sun",
        "sunday",
        " mon",
        "mon ",
        "m",
        "monday1",
        null,
        1,
    ]);
    let scripts = json!([
        "a.py", "a/b.py", ".", "..", "...", "./a", "a/./b", "../a", "a/..", "a//b", "/a", "a\\b",
        "a/", ".a", "..a", "a.", ".a/..b", "x\u{0}", "",
    ]);
    let urls = json!([
        "https://example.com/a?b#c",
        "http:x",
        "HTTP://X",
        " http://x",
        "ht\ttp://x",
        "http://",
        "http:/x",
        "http:\\\\x",
        "http://[::1]",
        "h",
        "\u{1}http://x",
        "http://x\u{1}",
        "file:///x",
        "http://.",
        "http:",
        "http:/",
        "ftp://x",
        "ht tp://x",
        "{{ input.url }}",
        "https://x/{{ execution.id }}",
        5,
    ]);
    let guids = json!([
        "01234567-89ab-cdef-0123-456789abcdef",
        "01234567-89AB-CDEF-0123-456789ABCDEF",
        "0123456789abcdef0123456789abcdef",
        "{01234567-89ab-cdef-0123-456789abcdef}",
        "urn:uuid:01234567-89ab-cdef-0123-456789abcdef",
        "URN:UUID:01234567-89ab-cdef-0123-456789abcdef",
        "{0123456789abcdef0123456789abcdef}",
        "01234567-89ab-cdef-0123456789abcdef",
        "urn:uuid:0123456789abcdef0123456789abcdef",
        "01234567-89ab-cdef-0123-456789abcde",
        "",
        null,
    ]);
    let dates = json!([
        "2024-01-05",
        "2024-1-5",
        "+2024-01-05",
        "12024-01-05",
        " 2024-01-05",
        "2024-02-30",
        "2024-02-29",
        "2023-02-29",
        "0001-01-01",
        "9999-12-31",
        "2024-13-01",
        "2024-01-05x",
        "",
        null,
    ]);
    vec![
        Field {
            schema: "#/components/schemas/ActionCreate/properties/name",
            via: Via::Create(|v| json!({"name": v, "steps": [python(json!("{}"))]})),
            values: names.clone(),
        },
        Field {
            schema: "#/components/schemas/Description",
            via: Via::Create(
                |v| json!({"name": ANY_NAME, "description": v, "steps": [python(json!("{}"))]}),
            ),
            values: vec![
                json!(""),
                json!("free\ttext\r\n\u{202e}"),
                json!("a\u{0}"),
                json!("d".repeat(4000)),
                json!("d".repeat(4001)),
                Value::Null,
            ],
        },
        Field {
            schema: "#/components/schemas/EmailAddress",
            via: Via::Create(|v| {
                with_step(json!({"stepType": "Email", "settings": {"recipients": [v]}}))
            }),
            values: addresses.as_array().unwrap().clone(),
        },
        Field {
            schema: "#/components/schemas/DailySchedulerSettings/properties/time",
            via: Via::Create(|v| daily(json!({"time": v}))),
            values: times.as_array().unwrap().clone(),
        },
        Field {
            schema: "#/components/schemas/WeeklySchedulerSettings/properties/dayOfWeek",
            via: Via::Create(|v| {
                with_trigger(
                    json!({"triggerType": "WeeklyScheduler", "settings": {"dayOfWeek": v}}),
                )
            }),
            values: days.as_array().unwrap().clone(),
        },
        Field {
            schema: "#/components/schemas/PythonStepSettings/oneOf/2/properties/script",
            via: Via::Create(|v| with_step(python(json!({"script": v})))),
            values: scripts.as_array().unwrap().clone(),
        },
        Field {
            schema: "#/components/schemas/WebhookStepSettings/properties/url",
            via: Via::Create(|v| with_step(json!({"stepType": "Webhook", "settings": {"url": v}}))),
            values: urls.as_array().unwrap().clone(),
        },
        Field {
            schema: "#/components/schemas/PythonStepRequest/properties/stepId",
            via: Via::Create(|v| {
                with_step(json!({"stepType": "Python", "settings": "{}", "stepId": v}))
            }),
            values: guids.as_array().unwrap().clone(),
        },
        Field {
            schema: "#/components/schemas/DailySchedulerRequest/properties/startDate",
            via: Via::Create(|v| {
                with_trigger(json!({"triggerType": "DailyScheduler", "startDate": v}))
            }),
            values: dates.as_array().unwrap().clone(),
        },
        Field {
            schema: "#/components/schemas/StepRequest",
            via: Via::Create(with_step),
            values: vec![
                python(json!("{}")),
                python(json!(" {}\n")),
                python(json!("")),
                python(json!("[]")),
                python(json!("{")),
                python(json!("\"{}\"")),
                python(json!(null)),
                python(json!(5)),
                python(json!({})),
                python(json!({"code": "x = 1"})),
                python(json!({"script": "a.py"})),
                python(json!({"code": "x = 1", "script": "a.py"})),
                python(json!({"code": null, "script": "a.py"})),
                python(json!({"code": 5, "script": "a.py"})),
                python(json!({"code": "x = 1", "script": 5})),
                python(json!({"code": null})),
                python(json!({"code": null, "script": null})),
                python(json!({"code": "x = 1", "script": null, "function": "main"})),
                python(json!({"function": "main"})),
                python(json!({"code": "x = 1", "function": "1x"})),
                python(json!({"code": "  \n "})),
                python(json!({"unknown": 1})),
                json!({"stepType": "Shell", "settings": "{}"}),
                json!({"settings": "{}"}),
                json!({"stepType": "Python"}),
                json!({"stepType": "Email", "settings": {"recipients": ["a@b.c"]}}),
                json!({"stepType": "Email", "settings": {"recipients": []}}),
                json!({"stepType": "Email", "settings": {}}),
                json!({"stepType": "Email", "settings": {"recipients": ["a@b.c"], "cc": null}}),
                json!({"stepType": "Email", "settings": {"recipients": ["a@b.c"], "bcc": ["b@c.d"], "replyTo": null, "subject": null}}),
                json!({"stepType": "Email", "settings": {"recipients": ["a@b.c"], "subject": "a\nb"}}),
                json!({"stepType": "Email", "settings": {"recipients": ["a@b.c"], "replyTo": "nope"}}),
                json!({"stepType": "Webhook", "settings": {"url": "https://x"}}),
                json!({"stepType": "Webhook", "settings": {"url": "https://x", "method": "BREW"}}),
                json!({"stepType": "Webhook", "settings": {"url": "https://x", "method": null, "timeoutSeconds": null, "body": null}}),
                json!({"stepType": "Webhook", "settings": {"url": "https://x", "headers": {"X-Ok": "v"}}}),
                json!({"stepType": "Webhook", "settings": {"url": "https://x", "headers": {"a b": "v"}}}),
                json!({"stepType": "Webhook", "settings": {"url": "https://x", "headers": {"": "v"}}}),
                json!({"stepType": "Webhook", "settings": {"url": "https://x", "headers": {"a": "b\r\nc: d"}}}),
                json!({"stepType": "Webhook", "settings": {"url": "https://x", "headers": {"a": 1}}}),
                json!({"stepType": "Webhook", "settings": {"url": "https://x", "headers": null}}),
                json!({"stepType": "Webhook", "settings": {"url": "https://x", "timeoutSeconds": 0}}),
                json!({"stepType": "Webhook", "settings": {"url": "https://x", "timeoutSeconds": 86400}}),
                json!({"stepType": "Webhook", "settings": {"url": "https://x", "timeoutSeconds": 86401}}),
                json!({"stepType": "Webhook", "settings": {"url": null}}),
                json!({"stepType": "Python", "settings": "{}", "stepNumber": 0}),
                json!({"stepType": "Python", "settings": "{}", "stepNumber": 2.0}),
                json!({"stepType": "Python", "settings": "{}", "stepNumber": 2.5}),
                json!({"stepType": "Webhook", "settings": {"url": "https://x", "timeoutSeconds": 5.0}}),
                json!({"stepType": "Webhook", "settings": {"url": "https://x", "timeoutSeconds": 5.5}}),
                json!({"stepType": "Python", "settings": "{}", "stepNumber": 2147483647}),
                json!({"stepType": "Python", "settings": "{}", "stepNumber": 2147483648_i64}),
                json!({"stepType": "Python", "settings": "{}", "description": "d".repeat(4001)}),
            ],
        },
        Field {
            schema: "#/components/schemas/TriggerRequest",
            via: Via::Create(with_trigger),
            values: vec![
                json!({"triggerType": "DailyScheduler"}),
                json!({"triggerType": "DailyScheduler", "settings": null, "frequency": null, "eventName": null, "startDate": null}),
                json!({"triggerType": "DailyScheduler", "settings": ""}),
                json!({"triggerType": "DailyScheduler", "settings": "{\"time\": \"06:00\"}"}),
                json!({"triggerType": "DailyScheduler", "frequency": 0}),
                json!({"triggerType": "DailyScheduler", "frequency": 10000}),
                json!({"triggerType": "DailyScheduler", "frequency": 10001}),
                json!({"triggerType": "DailyScheduler", "eventName": "a\nb"}),
                json!({"triggerType": "DailyScheduler", "eventName": "nightly"}),
                json!({"triggerType": "DailyScheduler", "settings": {"timezone": "Europe/Berlin"}}),
                json!({"triggerType": "DailyScheduler", "settings": {"timezone": "europe/berlin"}}),
                json!({"triggerType": "DailyScheduler", "settings": {"timezone": 5}}),
                json!({"triggerType": "DailyScheduler", "settings": {"catchUp": "none"}}),
                json!({"triggerType": "DailyScheduler", "settings": {"catchUp": "None"}}),
                json!({"triggerType": "DailyScheduler", "settings": {"minute": 99, "dayOfMonth": "x"}}),
                json!({"triggerType": "HourlyScheduler", "settings": {"minute": 59}}),
                json!({"triggerType": "HourlyScheduler", "settings": {"minute": 30.0}, "frequency": 2.0}),
                json!({"triggerType": "HourlyScheduler", "settings": {"minute": 30.5}}),
                json!({"triggerType": "HourlyScheduler", "frequency": 1.5}),
                json!({"triggerType": "HourlyScheduler", "settings": {"minute": 60}}),
                json!({"triggerType": "HourlyScheduler", "settings": {"minute": -1}}),
                json!({"triggerType": "MonthlyScheduler", "settings": {"dayOfMonth": 0}}),
                json!({"triggerType": "MonthlyScheduler", "settings": {"dayOfMonth": 31}}),
                json!({"triggerType": "MonthlyScheduler", "settings": {"dayOfMonth": 32}}),
                json!({"triggerType": "CronScheduler", "settings": {"cron": "0 6 * * 1-5"}}),
                json!({"triggerType": "CronScheduler", "settings": {"cron": "0 0 6 * * 1-5"}}),
                json!({"triggerType": "CronScheduler", "settings": {"cron": "@daily"}}),
                json!({"triggerType": "CronScheduler", "settings": {"cron": " @Weekly "}}),
                json!({"triggerType": "CronScheduler", "settings": {"cron": "@midnight"}}),
                json!({"triggerType": "CronScheduler", "settings": {"cron": "* * * *"}}),
                json!({"triggerType": "CronScheduler", "settings": {"cron": "* * * * * * *"}}),
                json!({"triggerType": "CronScheduler", "settings": {"cron": null}}),
                json!({"triggerType": "CronScheduler", "settings": {}}),
                json!({"triggerType": "CronScheduler"}),
                json!({"triggerType": "CronScheduler", "settings": null}),
                json!({"triggerType": "CronScheduler", "settings": "{\"cron\": \"@hourly\"}"}),
                json!({"triggerType": "CronScheduler", "settings": {"cron": format!("0 6 * * {}", "1,".repeat(100))}}),
                json!({"triggerType": "EventTrigger", "eventName": "order.placed"}),
                json!({"triggerType": "EventTrigger"}),
                json!({"triggerType": "EventTrigger", "eventName": null}),
                json!({"triggerType": "EventTrigger", "eventName": " "}),
                json!({"triggerType": "EventTrigger", "eventName": "a\u{202e}b"}),
                json!({"triggerType": "EventTrigger", "eventName": "e", "settings": {"timezone": "Mars/Olympus"}}),
                json!({"triggerType": "Yearly"}),
                json!({"frequency": 1}),
            ],
        },
        Field {
            schema: "#/components/schemas/ActionCreate",
            via: Via::Create(|v| v),
            values: vec![
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))]}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "maxRunTime": 0}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "maxRunTime": 86400}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "maxRunTime": 86401}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "maxRunTime": 60.0}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "maxRunTime": 60.5}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "retentionDays": 0}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "retentionDays": 36500}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "retentionDays": 36501}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "retentionDays": -1}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "retentionDays": 7.0}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "retentionDays": null}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "maxConcurrency": 0}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "maxConcurrency": 10000}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "maxConcurrency": 10001}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "concurrencyKey": "{{ input.a.b }}"}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "concurrencyKey": ""}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "concurrencyKey": "{{ a }}"}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "concurrencyKey": "{{ input.a }}\n"}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "concurrencyKey": "\n"}),
                json!({"name": ANY_NAME, "steps": [{"stepType": "Python", "settings": "{}", "retry": {"maxAttempts": 4}}]}),
                json!({"name": ANY_NAME, "steps": [{"stepType": "Python", "settings": "{}", "retry": {"maxAttempts": 0}}]}),
                json!({"name": ANY_NAME, "steps": [{"stepType": "Python", "settings": "{}", "retry": {"backoffFactor": 11}}]}),
                json!({"name": ANY_NAME, "steps": [{"stepType": "Python", "settings": "{}", "retry": {"tries": 2}}]}),
                json!({"name": ANY_NAME, "steps": [{"stepType": "Python", "settings": "{}", "retry": null}]}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "maxRunTime": "60"}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "maxRunTime": null, "isEnabled": null, "triggers": null, "description": null}),
                json!({"name": ANY_NAME, "steps": []}),
                json!({"name": ANY_NAME, "steps": null}),
                json!({"name": "x"}),
                json!({"steps": [python(json!("{}"))]}),
                json!({"name": ANY_NAME, "steps": vec![python(json!("{}")); 100]}),
                json!({"name": ANY_NAME, "steps": vec![python(json!("{}")); 101]}),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "triggers": vec![json!({"triggerType": "DailyScheduler"}); 101]}),
                json!({"name": ANY_NAME, "steps": [[null, null, "Python", null, "{}"]]}),
                json!(["x", null, null, null, [python(json!("{}"))]]),
                json!({"name": ANY_NAME, "steps": [python(json!("{}"))], "actionId": 5, "unknown": [1]}),
            ],
        },
        Field {
            schema: "#/components/parameters/EventName/schema",
            via: Via::EventName,
            values: names.iter().filter(|v| v != &&json!("")).cloned().collect(),
        },
        Field {
            schema: "#/components/schemas/StorableJson",
            via: Via::EventBody,
            values: vec![
                json!(null),
                json!("text"),
                json!([1, {"a": [true]}]),
                json!("a\u{0}"),
                json!({"k": ["\u{0}"]}),
                json!({"k\u{0}": 1}),
            ],
        },
        Field {
            schema: "#/components/schemas/ExecuteRequest",
            via: Via::ExecuteBody,
            values: vec![
                json!({}),
                json!({"input": null}),
                json!({"input": {"customer": "ACME", "rows": [1, 2]}}),
                json!({"input": "x\u{0}"}),
                json!({"input": {"a": {"b\u{0}": 1}}}),
                json!({"delaySeconds": 5}),
                json!({"delaySeconds": 60.0}),
                json!({"delaySeconds": 1.5}),
                json!({"delaySeconds": -1}),
                json!({"delaySeconds": 31_536_001}),
                json!({"runAt": "2020-01-01T00:00:00Z", "input": 1}),
                json!({"runAt": "tomorrow"}),
                json!({"runAt": "2020-01-01T00:00:00Z", "delaySeconds": 1}),
                json!({"unknown": 1}),
                json!([{"a": 1}]),
                json!(["x"]),
                json!("x"),
                json!(5),
            ],
        },
        Field {
            schema: "#/components/parameters/IdempotencyKey/schema",
            via: Via::IdempotencyKey,
            values: vec![
                json!("abc"),
                json!("A-1_b.c~!#"),
                json!("a b"),
                json!("k".repeat(255)),
                json!("k".repeat(256)),
                json!("é"),
                json!(""),
            ],
        },
        Field {
            schema: "#/components/parameters/Limit/schema",
            via: Via::Query("limit"),
            values: vec![json!(0), json!(1), json!(1000), json!(1001), json!(-1)],
        },
        Field {
            schema: "#/components/parameters/Offset/schema",
            via: Via::Query("offset"),
            values: vec![
                json!(-1),
                json!(0),
                json!(5),
                json!(i64::MAX),
                json!(i64::MAX as u64 + 1),
            ],
        },
        Field {
            schema: "#/components/parameters/StatusFilter/schema",
            via: Via::Query("status"),
            values: vec![
                json!("Queued"),
                json!("Running"),
                json!("Completed"),
                json!("Failed"),
                json!("queued"),
                json!("Cancelled"),
            ],
        },
        Field {
            schema: "#/components/parameters/TriggerFilter/schema",
            via: Via::Query("trigger"),
            values: vec![
                json!("manual"),
                json!("schedule"),
                json!("event"),
                json!("Manual"),
                json!("cron"),
            ],
        },
        Field {
            schema: "#/components/parameters/Since/schema",
            via: Via::Query("since"),
            values: vec![
                json!("2026-12-04T10:00:00Z"),
                json!("2026-12-04T10:00:00.123456+01:00"),
                json!("2026-12-04"),
                json!("yesterday"),
                json!("2026-12-04T25:00:00Z"),
            ],
        },
        Field {
            schema: "#/components/parameters/Until/schema",
            via: Via::Query("until"),
            values: vec![
                json!("2030-01-01T00:00:00-05:00"),
                json!("2030-01-01 00:00"),
            ],
        },
        // Last: these change the action the other requests use.
        Field {
            schema: "#/components/schemas/ActionUpdate",
            via: Via::Update,
            values: vec![
                json!({}),
                json!({"name": null, "description": null, "isEnabled": null, "maxRunTime": null, "steps": null, "triggers": null}),
                json!({"name": "renamed"}),
                json!({"name": " "}),
                json!({"name": "a\u{2067}"}),
                json!({"isEnabled": true}),
                json!({"isEnabled": "yes"}),
                json!({"maxRunTime": 0}),
                json!({"maxRunTime": 86400}),
                json!({"steps": []}),
                json!({"steps": [python(json!("{}"))]}),
                json!({"steps": [python(json!(""))]}),
                json!({"triggers": []}),
                json!({"triggers": [{"triggerType": "MonthlyScheduler", "settings": "{\"dayOfMonth\": 31}"}]}),
                json!({"triggers": [{"triggerType": "MonthlyScheduler", "startDate": "2024-1-1"}]}),
                json!([]),
            ],
        },
    ]
}

/// The document's verdict on every (schema, value) pair, in order.
fn document_verdicts(doc: &Value, pairs: &[(&str, &Value)]) -> Vec<bool> {
    let input = json!({
        "doc": doc,
        "pairs": pairs.iter().map(|(schema, value)| json!([schema, value])).collect::<Vec<_>>(),
    });
    let output = crate::openapi::python_output(
        "import json, sys\n\
         from openapi_schema_validator import OAS31Validator, oas31_format_checker\n\
         data = json.load(open(sys.argv[1]))\n\
         verdicts = [OAS31Validator(dict(data['doc'], **{'$ref': schema}), format_checker=oas31_format_checker).is_valid(value)\n\
         \x20           for schema, value in data['pairs']]\n\
         print(json.dumps(verdicts))\n",
        &input,
    );
    serde_json::from_str(&output).expect("verdicts")
}

/// Whether the API accepts `value` sent as `via` says: `true` for a 2xx, `false` for a 400;
/// any other answer fails the test.
async fn api_verdict(app: &TestApp, action_id: &str, n: usize, via: &Via, value: &Value) -> bool {
    let response = match via {
        Via::Create(build) => {
            let mut body = build(value.clone());
            if body.get("name") == Some(&json!(ANY_NAME)) {
                body["name"] = json!(format!("document {n}"));
            }
            app.create_action(&body).await
        }
        Via::Update => app.update_action(action_id, value).await,
        Via::EventName => {
            // Every byte but the unreserved ones percent-encoded (a URL parser would drop a
            // raw tab or line break from a path instead of sending it).
            let segment: String = value
                .as_str()
                .unwrap()
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        char::from(b).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            app.request(Method::POST, &format!("/action/event/{segment}"))
                .send()
                .await
                .unwrap()
        }
        Via::EventBody => app.raise_event("nightly", Some(value), None).await,
        Via::ExecuteBody => app.execute_post(action_id, Some(value), None).await,
        Via::IdempotencyKey => {
            let key = HeaderValue::from_bytes(value.as_str().unwrap().as_bytes()).unwrap();
            app.request(Method::POST, &format!("/action/execute/{action_id}"))
                .header("idempotency-key", key)
                .send()
                .await
                .unwrap()
        }
        Via::Query(name) => {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let mut url = reqwest::Url::parse(&format!(
                "{}/actionexecution/action/{action_id}",
                app.base()
            ))
            .unwrap();
            url.query_pairs_mut().append_pair(name, &text);
            app.client
                .get(url)
                .bearer_auth(&app.token)
                .send()
                .await
                .unwrap()
        }
    };
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    match status {
        200 | 201 => true,
        400 => false,
        other => panic!("{value} answered {other}: {body}"),
    }
}

#[tokio::test]
async fn request_schemas_judge_values_as_the_api_does() {
    let app = TestApp::spawn().await;
    let doc = expect_json(app.openapi().await, 200).await;
    let action = app
        .created(&json!({"name": "target", "steps": [python(json!("{}"))]}))
        .await;
    let action_id = action["actionId"].as_str().unwrap().to_string();
    let fields = fields();
    let pairs: Vec<(&str, &Value)> = fields
        .iter()
        .flat_map(|f| f.values.iter().map(move |v| (f.schema, v)))
        .collect();
    let verdicts = document_verdicts(&doc, &pairs);
    let mut disagreements = Vec::new();
    let mut n = 0;
    for field in &fields {
        for value in &field.values {
            let documented = verdicts[n];
            n += 1;
            let accepted = api_verdict(&app, &action_id, n, &field.via, value).await;
            if documented != accepted {
                disagreements.push(format!(
                    "{} {}: the document says {}, the API {}",
                    field.schema,
                    value,
                    if documented { "valid" } else { "invalid" },
                    if accepted { "accepts it" } else { "refuses it" },
                ));
            }
        }
    }
    assert!(n > 300, "only {n} values judged");
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// The document lists time zones by name; each one is a zone the API accepts, and a near miss
/// (another case, an unknown name) is refused by both.
#[tokio::test]
async fn every_listed_time_zone_is_one_the_api_knows() {
    let app = TestApp::spawn().await;
    let doc = expect_json(app.openapi().await, 200).await;
    let zones = doc["components"]["schemas"]["TimeZone"]["enum"]
        .as_array()
        .expect("TimeZone enum");
    assert!(zones.len() > 400, "{} zones", zones.len());
    let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for zone in zones {
        let settings = json!({"timezone": zone});
        assert!(
            Schedule::parse(TriggerType::DailyScheduler, 1, day, &settings).is_ok(),
            "{zone} is listed but refused"
        );
    }
    for name in [
        "utc",
        "europe/berlin",
        "Europe/Atlantis",
        "Europe/Berlin ",
        "",
    ] {
        assert!(!zones.contains(&json!(name)), "{name:?} is listed");
        let settings = json!({"timezone": name});
        assert!(Schedule::parse(TriggerType::DailyScheduler, 1, day, &settings).is_err());
    }
}
