//! The document is complete and consistent: every reference resolves, every reusable response
//! is used under its own status, links name real operations, and the derived schemas carry
//! the validation's limits. Its validity as OpenAPI 3.1 and its agreement with real answers
//! are checked by the integration tests (`api/tests/api/openapi.rs`, `document.rs`).

use super::markers;
use super::responses::responses;
use crate::routes::document;
use actuate_shared::domain::draft::limits;
use serde_json::Value;
use std::collections::HashSet;

fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                found.push(r);
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

fn operations(doc: &Value) -> impl Iterator<Item = (&String, &String, &Value)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .iter()
                .map(move |(method, op)| (path, method, op))
        })
}

#[test]
fn every_reference_resolves() {
    let doc = document();
    let mut found = vec![];
    refs(&doc, &mut found);
    assert!(found.len() > 100, "only {} references", found.len());
    for r in found {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

#[test]
fn reusable_responses_are_used_under_their_own_status() {
    let doc = document();
    let table = responses();
    for name in markers::ALL {
        assert!(
            table.iter().any(|(n, ..)| n == name),
            "marker {name} has no response"
        );
    }
    let mut used = HashSet::new();
    for (path, method, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().unwrap() {
            let Some(r) = response["$ref"].as_str() else {
                continue;
            };
            let name = r.trim_start_matches("#/components/responses/");
            let (_, expected, _) = table.iter().find(|(n, ..)| *n == name).unwrap();
            assert_eq!(
                status,
                &expected.to_string(),
                "{method} {path} uses {name} under {status}"
            );
            used.insert(name.to_string());
        }
    }
    for (name, ..) in &table {
        assert!(used.contains(*name), "response {name} is never used");
    }
}

#[test]
fn operation_ids_are_unique_and_links_name_them() {
    let doc = document();
    let mut ids = HashSet::new();
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}"));
        assert!(ids.insert(id.to_string()), "operationId {id} twice");
    }
    let mut links = 0;
    for (_, _, op) in operations(&doc) {
        for response in op["responses"].as_object().unwrap().values() {
            for link in response["links"].as_object().into_iter().flatten() {
                let target = link.1["operationId"].as_str().unwrap();
                assert!(ids.contains(target), "link to unknown operation {target}");
                links += 1;
            }
        }
    }
    assert!(links > 20, "only {links} links");
}

#[test]
fn authenticated_operations_answer_the_storage_outage() {
    let doc = document();
    for (path, method, op) in operations(&doc) {
        let authenticated = !op["security"].as_array().unwrap().is_empty();
        assert_eq!(
            authenticated,
            path.starts_with("/api/") && !path.ends_with("unauthorized-ping"),
            "{method} {path}"
        );
        if authenticated {
            assert_eq!(
                op["responses"]["503"]["$ref"], "#/components/responses/StorageUnavailable",
                "{method} {path}"
            );
        }
    }
}

#[test]
fn derived_schemas_carry_the_validation_limits() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let action = &schemas["Action"]["properties"]["maxRunTime"];
    assert_eq!(action["minimum"], limits::MAX_RUN_TIME_MIN);
    assert_eq!(action["maximum"], limits::MAX_RUN_TIME_MAX);
    let frequency = &schemas["ActionTrigger"]["properties"]["frequency"];
    assert_eq!(frequency["maximum"], limits::FREQUENCY_MAX);
    assert_eq!(schemas["Name"]["maxLength"], limits::NAME_MAX_CHARS as u64);
}
