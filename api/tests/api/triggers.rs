//! Schedule and event triggers: validation, nextRunTime, firing, catch-up, event fan-out.

use crate::helpers::{TestApp, expect_error, expect_json};
use actuate_shared::domain::model::TriggerKind;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::time::Duration;

fn action_with(name: &str, triggers: Value) -> Value {
    json!({
        "name": name,
        "steps": [{"stepType": "Python", "settings": "{\"code\": \"result = 1\"}"}],
        "triggers": triggers,
    })
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn invalid_schedule_settings_are_400_naming_the_setting() {
    let app = TestApp::spawn().await;
    for (trigger, needle) in [
        (
            json!({"triggerType": "DailyScheduler", "settings": {"time": "25:00"}}),
            "triggers[0].settings: time",
        ),
        (
            json!({"triggerType": "DailyScheduler", "settings": {"timezone": "Mars/Olympus"}}),
            "triggers[0].settings: timezone",
        ),
        (
            json!({"triggerType": "HourlyScheduler", "settings": {"minute": 75}}),
            "triggers[0].settings: minute",
        ),
        (
            json!({"triggerType": "WeeklyScheduler", "settings": {"dayOfWeek": "Caturday"}}),
            "triggers[0].settings: dayOfWeek",
        ),
        (
            json!({"triggerType": "MonthlyScheduler", "settings": {"dayOfMonth": 32}}),
            "triggers[0].settings: dayOfMonth",
        ),
        (
            json!({"triggerType": "CronScheduler", "settings": {"cron": "every day"}}),
            "triggers[0].settings: cron",
        ),
        (
            json!({"triggerType": "CronScheduler"}),
            "triggers[0].settings: cron: required",
        ),
        (
            json!({"triggerType": "DailyScheduler", "settings": {"catchUp": "all"}}),
            "triggers[0].settings: catchUp",
        ),
    ] {
        let response = app
            .create_action(&action_with("bad", json!([trigger])))
            .await;
        expect_error(response, 400, needle).await;
    }
}

#[tokio::test]
async fn next_run_time_is_the_next_firing_and_null_when_disabled() {
    let app = TestApp::spawn().await;
    let action = app
        .created(&action_with(
            "daily",
            json!([
                {"triggerType": "DailyScheduler", "startDate": "2024-01-01", "settings": {"time": "06:00"}},
                {"triggerType": "HourlyScheduler", "frequency": 24, "startDate": "2024-01-01", "settings": {"minute": 30}},
                {"triggerType": "EventTrigger", "eventName": "x"}
            ]),
        ))
        .await;
    let now = Utc::now();
    let next = time(&action["nextRunTime"]);
    assert!(
        next > now && next <= now + chrono::Duration::days(1),
        "{next}"
    );
    assert!(next.format("%M").to_string() == "00" || next.format("%M").to_string() == "30");
    let id = action["actionId"].as_str().unwrap();

    let disabled = expect_json(app.disable_action(id).await, 200).await;
    assert_eq!(disabled["nextRunTime"], Value::Null);
    let enabled = expect_json(app.enable_action(id).await, 200).await;
    assert!(time(&enabled["nextRunTime"]) > now);

    let events_only = app
        .created(&action_with(
            "events",
            json!([{"triggerType": "EventTrigger", "eventName": "y"}]),
        ))
        .await;
    assert_eq!(events_only["nextRunTime"], Value::Null);
    let nothing = app.created(&action_with("none", json!([]))).await;
    assert_eq!(nothing["nextRunTime"], Value::Null);
}

#[tokio::test]
async fn a_schedule_fires_executions_each_slot_once() {
    let app = TestApp::spawn_with_scheduler().await;
    let action = app
        .created(&action_with(
            "every second",
            json!([{"triggerType": "CronScheduler", "settings": {"cron": "* * * * * *"}}]),
        ))
        .await;
    let id = action["actionId"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    app.disable_action(id).await;

    let items = expect_json(app.list_executions(id, "").await, 200).await;
    let items = items["items"].as_array().unwrap().clone();
    assert!(items.len() >= 2, "fired: {}", items.len());
    let first = items.last().unwrap()["actionExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    let detail = expect_json(app.get_execution(&first).await, 200).await;
    assert_eq!(detail["trigger"], "schedule");

    let firings = app.store.firings().await.unwrap();
    let fired = firings.iter().filter(|f| f.fired).count() as i64;
    let executions = app
        .store
        .count_executions(Some(TriggerKind::Schedule))
        .await
        .unwrap();
    assert_eq!(fired, executions, "one execution per fired slot");
    let slots: std::collections::HashSet<_> = firings.iter().map(|f| f.slot).collect();
    assert_eq!(slots.len(), firings.len(), "each slot recorded once");
}

#[tokio::test]
async fn disabled_actions_never_fire() {
    let app = TestApp::spawn_with_scheduler().await;
    let mut body = action_with(
        "off",
        json!([{"triggerType": "CronScheduler", "settings": {"cron": "* * * * * *"}}]),
    );
    body["isEnabled"] = json!(false);
    let action = app.created(&body).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let items = expect_json(
        app.list_executions(action["actionId"].as_str().unwrap(), "")
            .await,
        200,
    )
    .await;
    assert_eq!(items["items"], json!([]));
    assert_eq!(app.store.firings().await.unwrap(), vec![]);
}

async fn rewind(app: &TestApp, days: i32) {
    app.store.rewind_triggers(days).await.unwrap();
}

#[tokio::test]
async fn missed_slots_fire_the_latest_once_and_record_the_rest() {
    let app = TestApp::spawn().await;
    let action = app
        .created(&action_with("catch up", json!([{"triggerType": "DailyScheduler", "startDate": "2024-01-01", "settings": {"time": "06:00"}}])))
        .await;
    // As if every scheduler had been down for four days.
    rewind(&app, 4).await;
    let report = app
        .store
        .fire_due(100, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(report.fired, 1, "never a burst: {report:?}");
    assert!(report.missed >= 3, "{report:?}");
    let again = app
        .store
        .fire_due(100, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!((again.fired, again.missed), (0, 0), "the trigger moved on");
    let next = expect_json(
        app.get_action(action["actionId"].as_str().unwrap()).await,
        200,
    )
    .await;
    assert!(time(&next["nextRunTime"]) > Utc::now());
    let firings = app.store.firings().await.unwrap();
    assert!(firings.last().unwrap().fired, "the latest slot fired");
    assert!(
        firings[..firings.len() - 1].iter().all(|f| !f.fired),
        "the earlier ones are recorded as missed"
    );
}

#[tokio::test]
async fn catch_up_none_records_every_missed_slot_and_fires_nothing_late() {
    let app = TestApp::spawn().await;
    app.created(&action_with(
        "no catch up",
        json!([{"triggerType": "DailyScheduler", "startDate": "2024-01-01", "settings": {"time": "06:00", "catchUp": "none"}}]),
    ))
    .await;
    rewind(&app, 3).await;
    let report = app
        .store
        .fire_due(100, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(report.fired, 0);
    assert!(report.missed >= 3, "{report:?}");
    assert_eq!(app.store.count_executions(None).await.unwrap(), 0);
}

#[tokio::test]
async fn events_fan_out_to_every_enabled_action_with_the_trigger() {
    let app = TestApp::spawn().await;
    let on = |name: &str, event: &str| {
        action_with(
            name,
            json!([{"triggerType": "EventTrigger", "eventName": event}]),
        )
    };
    let a = app.created(&on("a", "invoice.paid")).await;
    let b = app
        .created(&action_with(
            "b",
            json!([
                {"triggerType": "EventTrigger", "eventName": "invoice.paid"},
                {"triggerType": "DailyScheduler"}
            ]),
        ))
        .await;
    let c = app.created(&on("c", "invoice.paid")).await;
    app.disable_action(c["actionId"].as_str().unwrap()).await;
    app.created(&on("d", "invoice.voided")).await;

    let input = json!({"invoice": 7, "amount": 12.5});
    let body = expect_json(
        app.raise_event("invoice.paid", Some(&input), Some("evt-1"))
            .await,
        200,
    )
    .await;
    assert_eq!(body["eventName"], "invoice.paid");
    let items = body["items"].as_array().unwrap();
    let mut actions: Vec<&str> = items
        .iter()
        .map(|e| e["actionId"].as_str().unwrap())
        .collect();
    actions.sort();
    let mut expected = vec![
        a["actionId"].as_str().unwrap(),
        b["actionId"].as_str().unwrap(),
    ];
    expected.sort();
    assert_eq!(actions, expected, "enabled actions with that event only");
    for item in items {
        assert_eq!(item["status"], "Queued");
        let detail = expect_json(
            app.get_execution(item["actionExecutionId"].as_str().unwrap())
                .await,
            200,
        )
        .await;
        assert_eq!(detail["trigger"], "event");
        assert_eq!(detail["input"], input);
    }

    let again = expect_json(
        app.raise_event("invoice.paid", Some(&input), Some("evt-1"))
            .await,
        200,
    )
    .await;
    assert_eq!(
        again["items"], body["items"],
        "a repeated Idempotency-Key answers the same executions"
    );
    let none = expect_json(app.raise_event("nobody.listens", None, None).await, 200).await;
    assert_eq!(none["items"], json!([]));
}
