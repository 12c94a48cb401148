//! The OpenAPI 3.1 document at `/openapi.json`, built from the code when the router is.
//!
//! - Operations come from the `#[utoipa::path]` of the handler that serves them, and routes are
//!   registered from that same attribute (`utoipa_axum::routes!`), so a route cannot be missing
//!   from the document, nor a documented operation from the router.
//! - Response bodies are the `ToSchema` derives of the types the handlers serialise.
//! - Request schemas and parameters (`values`, `steps`, `triggers`, `bodies`, `parameters`)
//!   take every limit from the constants the validation uses; `api/tests/api/document.rs`
//!   holds their patterns to the validation's verdicts.
//! - Error examples are the bodies `ApiError::answer` gives (`responses`).
//! - What every operation of a kind shares is decided once, in [`policy`]: path parameters from
//!   the route's template, the errors of every authenticated operation (400, 401, 403, 500 and
//!   503 storage unavailable), 413 and 415 on every operation with a body, and the links that
//!   follow from an action or execution answer.

mod bodies;
pub mod markers;
mod parameters;
mod policy;
mod responses;
mod steps;
mod triggers;
mod values;

use serde_json::{Map, Value, json};

/// `(name, schema)` pairs for `components.schemas`.
type Schemas = Vec<(String, Value)>;

/// `{"$ref": "#/components/schemas/{name}"}`.
fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn references(names: impl Iterator<Item = String>) -> Vec<Value> {
    names.map(|n| reference(&n)).collect()
}

const DESCRIPTION: &str = "Create, manage and execute actions (ordered Python, Email and Webhook steps with schedule and event triggers) and read their executions. Request schemas state every rule the API checks that JSON Schema can state (lengths, ranges, patterns, the settings of each step and trigger type); rules it cannot (Python code must parse, templates must compile, ids must be unique in their list) are given in descriptions; breaking any rule is a 400 naming the field. Patterns are ECMA-262 and end with `(?![\\s\\S])` (the end of the string) rather than `$`, which some regex engines also match before a final line break. Response links chain the calls: a created action to reading, changing, executing it, an execution to reading, cancelling and downloading it. While the database cannot be reached, every operation that reads or changes stored data answers 503 with `Retry-After` at once.";

/// The version of the API contract (not of this build).
const API_VERSION: &str = "1.0.0";

/// The whole document: the operations and derived schemas utoipa collected from the router,
/// completed with the hand-stated components and the shared policy.
pub fn document(generated: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(generated).expect("an OpenAPI document serialises");
    doc["openapi"] = json!("3.1.0");
    doc["info"] = json!({
        "title": "Actuate Actions API",
        "version": API_VERSION,
        "description": DESCRIPTION,
    });
    doc["tags"] = json!([
        {"name": "Actions", "description": "Managing actions."},
        {"name": "Executions", "description": "Executing actions, raising events and reading executions."},
        {"name": "Secrets", "description": "A project's secrets for steps, and its webhook signing secret."},
        {"name": "Audit", "description": "The audit log: who changed what, and when."},
        {"name": "Pings", "description": "Documented ping endpoints."},
        {"name": "Operations", "description": "Unauthenticated operational endpoints."}
    ]);
    doc["security"] = json!([{"bearerAuth": []}]);

    let components = doc
        .as_object_mut()
        .expect("an object")
        .entry("components")
        .or_insert_with(|| json!({}));
    components["securitySchemes"] = json!({
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key token (`act_...`) created with `actuate-api keys create`."
        }
    });
    let schemas = components
        .as_object_mut()
        .expect("an object")
        .entry("schemas")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("an object");
    let stated = values::schemas()
        .into_iter()
        .chain(steps::schemas())
        .chain(triggers::schemas())
        .chain(bodies::schemas())
        .chain(responses::schemas());
    for (name, schema) in stated {
        let previous = schemas.insert(name.clone(), schema);
        assert!(
            previous.is_none() || markers::BODIES.contains(&name.as_str()),
            "schema {name} is defined twice"
        );
    }
    components["responses"] = responses::responses()
        .into_iter()
        .map(|(name, _, response)| (name.to_string(), response))
        .collect::<Map<_, _>>()
        .into();
    components["parameters"] = parameters::parameters()
        .into_iter()
        .map(|(name, _, _, parameter)| (name.to_string(), parameter))
        .collect::<Map<_, _>>()
        .into();

    policy::apply(&mut doc);
    policy::unwrap_descriptions(&mut doc);
    doc
}

#[cfg(test)]
mod tests;
