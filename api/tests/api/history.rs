//! Paged history: the project's and an action's executions by cursor, with filters; the
//! action list by cursor.

use crate::helpers::{TestApp, action_body, expect_error, expect_json};
use actuate_shared::domain::ids::ProjectId;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashSet;

fn id(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap().to_string()
}

async fn get(app: &TestApp, path: &str) -> Value {
    expect_json(app.request(Method::GET, path).send().await.unwrap(), 200).await
}

/// Reads every page of `path` (which takes `&cursor=`), executing `between` more executions
/// of `action_id` before each next page; answers the items in the order read.
async fn all_pages(app: &TestApp, path: &str, action_id: &str, between: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut page = get(app, path).await;
    loop {
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        let Some(cursor) = page["nextCursor"].as_str().map(str::to_string) else {
            assert!(
                page.get("nextCursor").is_none(),
                "absent on the last page: {page}"
            );
            return items;
        };
        for _ in 0..between {
            app.executed(action_id).await;
        }
        page = get(app, &format!("{path}&cursor={cursor}")).await;
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|e| id(e, "actionExecutionId")).collect()
}

#[tokio::test]
async fn paging_returns_every_execution_once_newest_first_while_new_ones_arrive() {
    let app = TestApp::spawn().await;
    let first = id(&app.created(&action_body("first")).await, "actionId");
    let second = id(&app.created(&action_body("second")).await, "actionId");
    // Concurrent executes share commits (and so, on PostgreSQL, their dateStarted): the id
    // orders them then, and paging must neither repeat nor skip one of a tie.
    let mut existing = HashSet::new();
    for round in 0..3 {
        let batch = futures_util::future::join_all((0..6).map(|n| {
            let action = if (n + round) % 2 == 0 {
                &first
            } else {
                &second
            };
            app.executed(action)
        }))
        .await;
        existing.extend(batch.iter().map(|e| id(e, "actionExecutionId")));
    }

    let read = all_pages(&app, "/actionexecution?limit=4", &first, 2).await;
    let read_ids = ids(&read);
    let unique: HashSet<&String> = read_ids.iter().collect();
    assert_eq!(unique.len(), read_ids.len(), "an execution was repeated");
    for e in &existing {
        assert!(unique.contains(e), "{e} was skipped");
    }
    let started: Vec<&str> = read
        .iter()
        .map(|e| e["dateStarted"].as_str().unwrap())
        .collect();
    let times: Vec<chrono::DateTime<chrono::Utc>> =
        started.iter().map(|t| t.parse().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "not newest first: {started:?}"
    );

    // One action's list pages the same way and holds only its executions.
    let of_first = all_pages(
        &app,
        &format!("/actionexecution/action/{first}?limit=3"),
        &second,
        1,
    )
    .await;
    assert!(of_first.iter().all(|e| e["actionId"] == first.as_str()));
    let listed: HashSet<String> = ids(&of_first).into_iter().collect();
    assert_eq!(listed.len(), of_first.len(), "an execution was repeated");
    let project_filtered = all_pages(
        &app,
        &format!("/actionexecution?actionId={first}&limit=1000"),
        &second,
        0,
    )
    .await;
    assert_eq!(
        ids(&project_filtered).into_iter().collect::<HashSet<_>>(),
        listed
    );
}

#[tokio::test]
async fn lists_filter_by_status_trigger_and_time() {
    let app = TestApp::spawn().await;
    let mut body = action_body("on event");
    body["triggers"] = json!([{"triggerType": "EventTrigger", "eventName": "order.created"}]);
    let action_id = id(&app.created(&body).await, "actionId");
    let manual = id(&app.executed(&action_id).await, "actionExecutionId");
    let raised = expect_json(app.raise_event("order.created", None, None).await, 200).await;
    let by_event = id(&raised["items"][0], "actionExecutionId");
    let cancelled = id(&app.executed(&action_id).await, "actionExecutionId");
    let cancelled_at = expect_json(app.cancel_execution(&cancelled).await, 200).await;

    let only = |query: &str| {
        let path = format!("/actionexecution/action/{action_id}?{query}");
        let app = &app;
        async move { ids(get(app, &path).await["items"].as_array().unwrap()) }
    };
    assert_eq!(only("trigger=event").await, vec![by_event.clone()]);
    assert_eq!(
        only("trigger=manual&status=Queued").await,
        vec![manual.clone()]
    );
    assert_eq!(only("status=Failed").await, vec![cancelled.clone()]);

    let manual_started = get(&app, &format!("/actionexecution/{manual}")).await["dateStarted"]
        .as_str()
        .unwrap()
        .to_string();
    let last_started = cancelled_at["dateStarted"].as_str().unwrap().to_string();
    let enc = |t: &str| t.replace('+', "%2B");
    // `since` is inclusive and `until` exclusive: the manual execution alone is in
    // [its start, the start after it).
    let window = only(&format!(
        "since={}&until={}",
        enc(&manual_started),
        enc(&last_started)
    ))
    .await;
    assert!(window.contains(&manual), "{window:?}");
    assert!(!window.contains(&cancelled), "{window:?}");
    assert_eq!(
        only(&format!("since={}", enc(&last_started))).await,
        vec![cancelled.clone()]
    );
    assert!(
        only("until=2000-01-01T00:00:00Z").await.is_empty(),
        "nothing was queued before 2000"
    );
    // A filter that selects nothing of an existing action is an empty page, not a 404.
    let none = get(
        &app,
        &format!("/actionexecution/action/{action_id}?trigger=schedule"),
    )
    .await;
    assert_eq!(none, json!({"items": []}));
}

#[tokio::test]
async fn bad_paging_and_filters_are_400s_naming_the_parameter() {
    let app = TestApp::spawn().await;
    let action_id = id(&app.created(&action_body("bad")).await, "actionId");
    let cases = [
        ("limit=1001", "limit"),
        ("limit=0", "limit"),
        ("cursor=abc", "cursor"),
        ("cursor=djIuMS5h", "cursor"),
        ("trigger=cron", "trigger"),
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        (
            "since=2026-12-04T10:00:00Z&until=2026-12-04T09:00:00Z",
            "since",
        ),
        ("offset=2&cursor=x", "cursor"),
        ("actionId=42", "actionId"),
        ("page=2", "page"),
    ];
    for (query, needle) in cases {
        for path in [
            format!("/actionexecution?{query}"),
            format!("/actionexecution/action/{action_id}?{query}"),
        ] {
            if needle == "actionId" && path.contains("/action/") {
                // Not a parameter of this route: an unknown one.
                expect_error(
                    app.request(Method::GET, &path).send().await.unwrap(),
                    400,
                    "unknown field",
                )
                .await;
                continue;
            }
            expect_error(
                app.request(Method::GET, &path).send().await.unwrap(),
                400,
                needle,
            )
            .await;
        }
    }
    for query in ["limit=0", "cursor=abc", "unknown=1"] {
        expect_error(
            app.request(Method::GET, &format!("/action?{query}"))
                .send()
                .await
                .unwrap(),
            400,
            query.split('=').next().unwrap(),
        )
        .await;
    }
}

#[tokio::test]
async fn the_project_list_and_its_cursors_stay_in_the_project() {
    let app = TestApp::spawn().await;
    let action_id = id(&app.created(&action_body("mine")).await, "actionId");
    for _ in 0..3 {
        app.executed(&action_id).await;
    }
    let page = get(&app, "/actionexecution?limit=1").await;
    let cursor = page["nextCursor"].as_str().unwrap().to_string();

    let other = ProjectId::new();
    let url = |query: &str| {
        format!(
            "{}/api/{}/{}/actionexecution?{query}",
            app.address, app.tenant, other
        )
    };
    for query in ["limit=1000".to_string(), format!("cursor={cursor}")] {
        let response = app
            .client
            .get(url(&query))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        let body = expect_json(response, 200).await;
        assert_eq!(body, json!({"items": []}), "{query}");
    }
}

#[tokio::test]
async fn the_action_list_pages_oldest_first_with_the_total() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for n in 0..7 {
        created.push(id(
            &app.created(&action_body(&format!("action {n}"))).await,
            "actionId",
        ));
    }
    let mut listed = Vec::new();
    let mut page = get(&app, "/action?limit=3").await;
    let mut pages = 1;
    loop {
        assert_eq!(page["totalCount"], 7, "{page}");
        let actions = page["actions"].as_array().unwrap();
        assert!(actions.len() <= 3);
        listed.extend(actions.iter().map(|a| id(a, "actionId")));
        match page["nextCursor"].as_str() {
            Some(cursor) => {
                page = get(&app, &format!("/action?limit=3&cursor={cursor}")).await;
                pages += 1;
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(listed, created, "every action once, oldest first");

    // Without parameters: every action (up to 1,000) in the documented shape.
    let all = get(&app, "/action").await;
    let keys: HashSet<&str> = all
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, HashSet::from(["actions", "totalCount"]));
    assert_eq!(all["actions"].as_array().unwrap().len(), 7);
}
