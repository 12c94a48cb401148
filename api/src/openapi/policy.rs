//! What every operation of a kind shares, applied once to the generated operations:
//!
//! - An operation is authenticated when its attribute names `security(("bearerAuth" = []))`;
//!   any other states `security: []` (no token needed).
//! - Path parameters come from the route's template, as the reusable components (or, on an
//!   unauthenticated route, as unchecked strings). A query or header parameter an operation
//!   declares becomes the component of the same name; one without a component is a bug, and
//!   building the document panics (the tests build it).
//! - An authenticated operation can also answer 400 (a path id), 401, 403, 500 and 503 (storage
//!   unavailable); an operation with a request body 413 and 415.
//! - An answer that is an action, an execution or an execution's detail links to the
//!   operations that take its ids.

use super::parameters::{parameters, unchecked};
use serde_json::{Map, Value, json};

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

pub fn apply(doc: &mut Value) {
    let components = parameters();
    let paths = doc["paths"].as_object_mut().expect("paths");
    for (template, item) in paths.iter_mut() {
        for (method, operation) in item.as_object_mut().expect("a path item") {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let authenticated = operation
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|s| !s.is_empty());
            if !authenticated {
                operation["security"] = json!([]);
            }
            let declared = operation
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut resolved: Vec<Value> = path_parameters(template)
                .map(|name| {
                    if authenticated {
                        component(&components, "path", name)
                            .unwrap_or_else(|| panic!("{template}: no component for {{{name}}}"))
                    } else {
                        unchecked(name)
                    }
                })
                .collect();
            for parameter in declared.iter().filter(|p| p["in"] != "path") {
                let (place, name) = (
                    parameter["in"].as_str().unwrap_or_default(),
                    parameter["name"].as_str().unwrap_or_default(),
                );
                resolved.push(component(&components, place, name).unwrap_or_else(|| {
                    panic!("{method} {template}: parameter {name} in {place} has no component")
                }));
            }
            if resolved.is_empty() {
                operation
                    .as_object_mut()
                    .expect("an operation")
                    .remove("parameters");
            } else {
                operation["parameters"] = Value::Array(resolved);
            }

            let has_body = operation.get("requestBody").is_some();
            if let Some(body) = operation.get_mut("requestBody") {
                optional_body_schema(body);
            }
            let responses = operation["responses"].as_object_mut().expect("responses");
            let mut shared = vec![];
            if authenticated {
                shared.extend([
                    ("400", "BadRequest"),
                    ("401", "Unauthorized"),
                    ("403", "Forbidden"),
                    ("500", "InternalError"),
                    ("503", "StorageUnavailable"),
                ]);
            }
            if has_body {
                shared.extend([("413", "PayloadTooLarge"), ("415", "UnsupportedMediaType")]);
            }
            for (status, name) in shared {
                responses
                    .entry(status)
                    .or_insert_with(|| json!({"$ref": format!("#/components/responses/{name}")}));
            }
            sort_by_status(responses);
            for response in responses.values_mut() {
                add_links(response);
            }
        }
    }
}

/// An optional body (`request_body = Option<T>`) arrives as `oneOf: [T, null]`; the body being
/// optional is `required: false` already, and a `null` branch beside a `T` that also admits
/// null would make `oneOf` refuse null. The schema is `T`.
fn optional_body_schema(body: &mut Value) {
    for media in body["content"]
        .as_object_mut()
        .into_iter()
        .flat_map(|c| c.values_mut())
    {
        let schema = &mut media["schema"];
        let Some([first, second]) = schema["oneOf"].as_array().map(Vec::as_slice) else {
            continue;
        };
        let null = json!({"type": "null"});
        let inner = match (first == &null, second == &null) {
            (false, true) => first.clone(),
            (true, false) => second.clone(),
            _ => continue,
        };
        *schema = inner;
    }
}

fn path_parameters(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

fn component(components: &[(&str, &str, &str, Value)], place: &str, name: &str) -> Option<Value> {
    components
        .iter()
        .find(|(_, p, n, _)| *p == place && n.eq_ignore_ascii_case(name))
        .map(|(component, ..)| json!({"$ref": format!("#/components/parameters/{component}")}))
}

fn sort_by_status(responses: &mut Map<String, Value>) {
    let mut entries: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    responses.extend(entries);
}

/// `(link name, operation id, description, the id it takes from the answer)`.
type Link = (&'static str, &'static str, &'static str, &'static str);

const ACTION_LINKS: &[Link] = &[
    ("GetAction", "getAction", "Read this action.", "actionId"),
    (
        "UpdateAction",
        "updateAction",
        "Change this action.",
        "actionId",
    ),
    (
        "DeleteAction",
        "deleteAction",
        "Delete this action.",
        "actionId",
    ),
    (
        "EnableAction",
        "enableAction",
        "Enable this action.",
        "actionId",
    ),
    (
        "DisableAction",
        "disableAction",
        "Disable this action.",
        "actionId",
    ),
    (
        "ExecuteAction",
        "executeAction",
        "Execute this action.",
        "actionId",
    ),
    (
        "ExecuteActionWithInput",
        "executeActionWithInput",
        "Execute this action with input.",
        "actionId",
    ),
    (
        "ListExecutions",
        "listExecutions",
        "This action's executions.",
        "actionId",
    ),
    (
        "GetLastExecution",
        "getLastExecution",
        "This action's newest execution.",
        "actionId",
    ),
];

const CANCEL_EXECUTION: Link = (
    "CancelExecution",
    "cancelExecution",
    "Cancel this execution.",
    "actionExecutionId",
);

const DOWNLOAD_PACKAGE: Link = (
    "DownloadExecutionPackage",
    "downloadExecutionPackage",
    "This execution's package.",
    "actionExecutionId",
);

const EXECUTION_LINKS: &[Link] = &[
    (
        "GetExecution",
        "getExecution",
        "Read this execution with its steps.",
        "actionExecutionId",
    ),
    CANCEL_EXECUTION,
    DOWNLOAD_PACKAGE,
    (
        "ListExecutions",
        "listExecutions",
        "The executions of the same action.",
        "actionId",
    ),
    (
        "GetLastExecution",
        "getLastExecution",
        "The newest execution of the same action.",
        "actionId",
    ),
];

const EXECUTION_DETAIL_LINKS: &[Link] = &[
    CANCEL_EXECUTION,
    DOWNLOAD_PACKAGE,
    (
        "GetAction",
        "getAction",
        "The action this execution belongs to.",
        "actionId",
    ),
];

fn add_links(response: &mut Value) {
    let schema = response
        .pointer("/content/application~1json/schema/$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"));
    let links = match schema {
        Some("Action") => ACTION_LINKS,
        Some("Execution") => EXECUTION_LINKS,
        Some("ExecutionDetail") => EXECUTION_DETAIL_LINKS,
        _ => return,
    };
    response["links"] = links
        .iter()
        .map(|(name, operation, description, id)| {
            (
                name.to_string(),
                json!({
                    "operationId": operation,
                    "description": description,
                    "parameters": {
                        "tenantId": "$request.path.tenantId",
                        "projectId": "$request.path.projectId",
                        *id: format!("$response.body#/{id}")
                    }
                }),
            )
        })
        .collect::<Map<_, _>>()
        .into();
}

/// Doc comments arrive with their line breaks; a single break inside a paragraph becomes a
/// space (as Markdown reads it anyway), so descriptions read as prose in every viewer.
pub fn unwrap_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(text) if key == "description" || key == "summary" => {
                        *text = text
                            .split("\n\n")
                            .map(|paragraph| paragraph.replace('\n', " "))
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    _ => unwrap_descriptions(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}
