//! `GET /openapi.json`: a valid OpenAPI 3.1 document whose every operation is routed.

use crate::helpers::{TestApp, action_body, expect_json};
use reqwest::Method;
use serde_json::{Value, json};

fn venv_python() -> String {
    std::env::var("ACTUATE_TEST_VENV_PYTHON").unwrap_or_else(|_| {
        panic!("ACTUATE_TEST_VENV_PYTHON is not set: scripts/setup.sh makes the test virtualenv with openapi-spec-validator and scripts/test.sh sets it")
    })
}

/// Runs `script` with the test virtualenv's Python on `input` (as JSON, in a file named by
/// `sys.argv[1]`); panics with its error output if it fails.
fn python_check(script: &str, input: &Value) {
    python_output(script, input);
}

/// As [`python_check`], and returns what the script printed.
pub fn python_output(script: &str, input: &Value) -> String {
    let file = std::env::temp_dir().join(format!("actuate-openapi-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, input.to_string()).unwrap();
    let output = std::process::Command::new(venv_python())
        .args(["-c", script])
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1() {
    let app = TestApp::spawn().await;
    let doc = expect_json(app.openapi().await, 200).await;
    assert_eq!(doc["openapi"], "3.1.0");
    python_check(
        "import json, sys; from openapi_spec_validator import validate; \
         validate(json.load(open(sys.argv[1])))",
        &doc,
    );
}

/// Real answers of the main endpoints match the schemas the document gives them.
#[tokio::test]
async fn answers_match_the_documented_schemas() {
    let app = TestApp::spawn().await;
    let doc = expect_json(app.openapi().await, 200).await;
    let action = app.created(&action_body("documented")).await;
    let id = action["actionId"].as_str().unwrap().to_string();
    let execution = app.executed(&id).await;
    let execution_id = execution["actionExecutionId"].as_str().unwrap().to_string();
    let samples = json!([
        ["Action", action],
        ["Action", expect_json(app.get_action(&id).await, 200).await],
        [
            "ActionList",
            expect_json(app.list_actions().await, 200).await
        ],
        ["Execution", execution],
        [
            "ExecutionDetail",
            expect_json(app.get_execution(&execution_id).await, 200).await
        ],
        [
            "ExecutionList",
            expect_json(app.list_executions(&id, "").await, 200).await
        ],
        [
            "ActionNotFoundError",
            expect_json(app.get_action(&uuid::Uuid::new_v4().to_string()).await, 404).await
        ],
    ]);
    python_check(
        "import json, sys\n\
         from openapi_schema_validator import OAS31Validator\n\
         data = json.load(open(sys.argv[1]))\n\
         for name, instance in data['samples']:\n\
         \x20   schema = dict(data['doc'], **{'$ref': '#/components/schemas/' + name})\n\
         \x20   errors = [e.message for e in OAS31Validator(schema).iter_errors(instance)]\n\
         \x20   assert not errors, (name, errors, instance)\n",
        &json!({"doc": doc, "samples": samples}),
    );
}

/// Every operation the document lists reaches a handler: the answer is not the router's own
/// "no route" 404 or 405 (a handler's 404, such as "Action not found", is fine). The fixed
/// segments match whatever their case, as on the vendor's server (`Action/...`,
/// `ActionExecution/...`, `API/...`), with the same answer as the lowercase path.
#[tokio::test]
async fn every_documented_operation_is_routed_in_any_case() {
    let app = TestApp::spawn().await;
    let doc = expect_json(app.openapi().await, 200).await;
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (template, item) in paths {
        let path = template
            .replace("{tenantId}", &app.tenant.to_string())
            .replace("{projectId}", &app.project.to_string())
            .replace("{eventName}", "nightly")
            .split('{')
            .enumerate()
            .map(|(i, part)| match (i, part.split_once('}')) {
                (0, _) => part.to_string(),
                (_, Some((_, rest))) => format!("{}{rest}", uuid::Uuid::new_v4()),
                (_, None) => panic!("unbalanced braces in {template}"),
            })
            .collect::<String>();
        for method in item.as_object().expect("path item").keys() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue; // "parameters", "summary" and the like
            };
            operations += 1;
            let mut lowercase_status = None;
            for variant in [
                path.clone(),
                spelled(&path, str::to_uppercase),
                spelled(&path, vendor),
            ] {
                let response = app
                    .client
                    .request(method.clone(), format!("{}{variant}", app.address))
                    .bearer_auth(&app.token)
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let message = body["error"].as_str().unwrap_or_default();
                let fallback = (status == 404 && message.starts_with("no route for"))
                    || (status == 405 && message.starts_with("method "));
                assert!(
                    !fallback,
                    "{method} {variant} is documented ({template}) but not routed: {status} {body}"
                );
                let first = *lowercase_status.get_or_insert(status);
                assert_eq!(
                    status, first,
                    "{method} {variant} answers unlike {path}: {body}"
                );
            }
        }
    }
    assert!(operations >= 20, "only {operations} operations documented");
}

/// `path` with every fixed segment (not an id, not the event name) respelled by `f`.
fn spelled(path: &str, f: fn(&str) -> String) -> String {
    path.split('/')
        .map(|s| {
            if s.is_empty() || s.parse::<uuid::Uuid>().is_ok() || s == "nightly" {
                s.to_string()
            } else {
                f(s)
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The vendor document's spelling: `Action`, `ActionExecution`, `LastAction`, ...
fn vendor(segment: &str) -> String {
    match segment {
        "actionexecution" => "ActionExecution".into(),
        "lastaction" => "LastAction".into(),
        "downloadpackage" => "DownloadPackage".into(),
        "unauthorized-ping" => "Unauthorized-Ping".into(),
        s => {
            let mut chars = s.chars();
            chars
                .next()
                .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
        }
    }
}

/// `/docs` is a reference page on `/openapi.json` served from the binary: the page, its script
/// and its stylesheet load, none of them names another host, and the page reads the API's own
/// document. The segment matches in any case, as the API's fixed segments do.
#[tokio::test]
async fn the_docs_page_is_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let get = |path: &str| app.client.get(format!("{}{path}", app.address)).send();
    let redirect = get("/DOCS").await.unwrap();
    assert!(redirect.status().is_success(), "{}", redirect.status());
    let page = get("/docs/").await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let mut assets = vec![];
    for attribute in ["src=\"", "href=\""] {
        for part in html.split(attribute).skip(1) {
            let target = part.split('"').next().unwrap();
            assert!(
                !target.contains("//"),
                "the page loads {target} from elsewhere"
            );
            assets.push(target.trim_start_matches("./").to_string());
        }
    }
    assert!(
        assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")),
        "{assets:?}"
    );
    let mut initializer = String::new();
    for asset in &assets {
        let response = get(&format!("/docs/{asset}")).await.unwrap();
        assert_eq!(response.status(), 200, "/docs/{asset}");
        let text = response.text().await.unwrap();
        if asset.contains("initializer") {
            initializer = text;
        }
    }
    assert!(
        initializer.contains("/openapi.json"),
        "the page does not read /openapi.json: {initializer}"
    );
}
