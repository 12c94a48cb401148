//! The per-tenant execute rate limit (`ACTUATE_EXECUTE_RATE_LIMIT`): over it, every route that
//! creates executions on request answers 429 with `Retry-After` and a JSON error naming the
//! limit, and writes nothing; another tenant is not held back; after the wait it is let
//! through again. (With the limit off, as in every other test, nothing is limited.)

use crate::helpers::{TestApp, action_body, expect_error, expect_json};
use crate::openapi::python_output;
use actuate_api::rate_limit::ExecuteRateLimit;
use actuate_shared::domain::ids::TenantId;
use reqwest::Response;
use serde_json::{Value, json};
use std::num::NonZeroU32;
use std::time::Duration;

const EVENT: &str = "report.requested";
const LIMITED: &str =
    "execute rate limit exceeded: at most 2 execute requests per second per tenant";

/// An action of the app's tenant, also reached by [`EVENT`].
async fn action_with_event(app: &TestApp) -> String {
    let mut body = action_body("limited");
    body["triggers"] = json!([{"triggerType": "EventTrigger", "eventName": EVENT}]);
    app.created(&body).await["actionId"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn executions_of(app: &TestApp, action_id: &str) -> usize {
    let list = expect_json(app.list_executions(action_id, "").await, 200).await;
    list["items"].as_array().unwrap().len()
}

/// `Retry-After` as whole seconds; panics when it is missing or not a number.
fn retry_after(response: &Response) -> u64 {
    let value = response
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap();
    value
        .parse()
        .unwrap_or_else(|e| panic!("Retry-After {value:?}: {e}"))
}

/// A second tenant with its own key and action, on the same server.
struct OtherTenant {
    base: String,
    token: String,
    action_id: String,
}

impl OtherTenant {
    async fn new(app: &TestApp) -> Self {
        let tenant = TenantId::new();
        let token = app.new_key(tenant, None).await;
        let base = format!("{}/api/{tenant}/{}", app.address, app.project);
        let response = app
            .client
            .post(format!("{base}/action"))
            .bearer_auth(&token)
            .json(&action_body("other tenant"))
            .send()
            .await
            .unwrap();
        let action = expect_json(response, 201).await;
        let action_id = action["actionId"].as_str().unwrap().to_string();
        Self {
            base,
            token,
            action_id,
        }
    }

    async fn execute(&self, app: &TestApp) -> Response {
        app.client
            .get(format!("{}/action/execute/{}", self.base, self.action_id))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_tenant_over_the_limit_gets_429_and_writes_nothing_while_others_go_on() {
    let limit = ExecuteRateLimit {
        per_second: NonZeroU32::new(2).unwrap(),
        burst: NonZeroU32::new(2).unwrap(),
    };
    let app = TestApp::spawn_with_execute_rate_limit(limit).await;
    let action_id = action_with_event(&app).await;
    let other = OtherTenant::new(&app).await;

    // The burst: two at once (creating actions above did not count). The requests up to the
    // refused ones take milliseconds, far less than the 500 ms in which one is replenished.
    app.executed(&action_id).await;
    app.executed(&action_id).await;
    let refused = app.execute(&action_id).await;
    assert_eq!(refused.status(), 429);
    let wait = retry_after(&refused);
    assert!(wait >= 1, "Retry-After {wait}");
    let body = expect_error(refused, 429, LIMITED).await;
    assert_eq!(body["retryAfter"], wait, "{body}");

    // The other routes that create executions share the tenant's count.
    let post = app
        .execute_post(&action_id, Some(&json!({"input": {"n": 1}})), None)
        .await;
    assert!(retry_after(&post) >= 1);
    expect_error(post, 429, LIMITED).await;
    let event = app.raise_event(EVENT, None, None).await;
    assert!(retry_after(&event) >= 1);
    let event_body = expect_error(event, 429, LIMITED).await;
    assert_eq!(
        executions_of(&app, &action_id).await,
        2,
        "refused requests wrote"
    );

    // Another tenant is not held back at the same moment.
    expect_json(other.execute(&app).await, 200).await;

    // The answer is the one the document gives for 429 on every route that creates executions.
    let doc = expect_json(app.openapi().await, 200).await;
    for (path, method) in [
        ("/action/execute/{actionId}", "get"),
        ("/action/execute/{actionId}", "post"),
        ("/action/event/{eventName}", "post"),
    ] {
        let path = format!("/api/{{tenantId}}/{{projectId}}{path}");
        assert_eq!(
            doc["paths"][&path][method]["responses"]["429"]["$ref"],
            "#/components/responses/RateLimited",
            "{method} {path}"
        );
    }
    python_output(
        "import json, sys\n\
         from openapi_schema_validator import OAS31Validator\n\
         data = json.load(open(sys.argv[1]))\n\
         schema = dict(data['doc'], **{'$ref': '#/components/schemas/RateLimitedError'})\n\
         for instance in data['samples']:\n\
         \x20   errors = [e.message for e in OAS31Validator(schema).iter_errors(instance)]\n\
         \x20   assert not errors, (errors, instance)\n",
        &json!({"doc": doc, "samples": [body, event_body]}),
    );

    // After the wait it was told, the tenant is let through again.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let again: Value = app.executed(&action_id).await;
    assert_eq!(again["status"], "Queued", "{again}");
    assert_eq!(executions_of(&app, &action_id).await, 3);
}
