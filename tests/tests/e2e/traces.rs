//! One trace per execution, across processes: the API's request span (a child of the caller's
//! `traceparent` when it sends one), the worker's execution span under it (its context carried
//! by the execution row and the queue message's headers), a span per step under that, and the
//! webhook's `traceparent` naming the webhook step's span. Spans are exported over OTLP/HTTP
//! to a receiver on loopback; log lines carry the trace id.

use actuate_tests::cluster::Cluster;
use actuate_tests::otlp::{OtlpReceiver, ReceivedSpan};
use serde_json::json;
use std::time::Duration;

const CALLER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN: &str = "b7ad6b7169203331";

#[tokio::test]
async fn an_execution_is_one_trace_from_the_request_to_each_step_and_its_webhook() {
    let receiver = OtlpReceiver::start().await;
    let mut cluster = Cluster::new("traces").await;
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.as_str()),
        // Export within a tenth of a second rather than the default five.
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    cluster.start_api_with(&otel).await;
    cluster.start_worker(&otel);
    let action_id = cluster
        .create_action(
            json!([
                {"stepType": "Python", "settings": {"code": "result = 6 * 7"}},
                cluster.webhook_step("/traced"),
            ]),
            60,
        )
        .await;

    // Executed by a caller that is itself traced.
    let answer = cluster
        .client
        .get(format!("{}/action/execute/{action_id}", cluster.base(0)))
        .bearer_auth(&cluster.token)
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let execution: serde_json::Value = answer.json().await.unwrap();
    let execution_id = execution["actionExecutionId"].as_str().unwrap().to_string();
    let done = cluster
        .wait_status(&execution_id, "Completed", Duration::from_secs(60))
        .await;
    assert_eq!(done["status"], "Completed", "{done}");

    let in_trace = |spans: &[ReceivedSpan]| -> Vec<ReceivedSpan> {
        spans
            .iter()
            .filter(|s| s.trace_id == CALLER_TRACE)
            .cloned()
            .collect()
    };
    let spans = receiver
        .wait_for(Duration::from_secs(20), |spans| {
            let trace = in_trace(spans);
            trace.iter().filter(|s| s.name == "step").count() == 2
                && trace.iter().any(|s| s.name == "execution")
                && trace.iter().any(|s| s.name == "request")
        })
        .await;
    let trace = in_trace(&spans);
    let names: Vec<_> = trace.iter().map(|s| (&s.service, &s.name)).collect();

    // The API's request span continues the caller's trace.
    let request = trace
        .iter()
        .find(|s| s.name == "request")
        .unwrap_or_else(|| panic!("no request span in {names:?}"));
    assert_eq!(request.service, "actuate-api");
    assert_eq!(request.parent_span_id, CALLER_SPAN);
    assert_eq!(
        request.attribute("path").unwrap_or_default(),
        format!(
            "/api/{}/{}/action/execute/{action_id}",
            cluster.tenant, cluster.project
        )
    );

    // The worker's claim is a span under it, in another process, across the queue.
    let execution = trace
        .iter()
        .find(|s| s.name == "execution")
        .unwrap_or_else(|| panic!("no execution span in {names:?}"));
    assert_eq!(execution.service, "actuate-worker");
    assert_eq!(execution.parent_span_id, request.span_id);
    assert_eq!(
        execution.attribute("execution_id"),
        Some(execution_id.as_str())
    );
    assert_eq!(execution.attribute("attempt"), Some("1"));

    // Each step a span under the claim's.
    let mut steps: Vec<_> = trace.iter().filter(|s| s.name == "step").collect();
    steps.sort_by_key(|s| s.attribute("step_number").map(str::to_string));
    assert_eq!(steps.len(), 2, "{names:?}");
    for (step, (number, kind)) in steps.iter().zip([("1", "Python"), ("2", "Webhook")]) {
        assert_eq!(step.parent_span_id, execution.span_id);
        assert_eq!(step.attribute("step_number"), Some(number));
        assert_eq!(step.attribute("step_type"), Some(kind));
    }

    // The webhook names the webhook step's span as its parent.
    let delivered = cluster
        .sink
        .requests()
        .into_iter()
        .find(|r| r.path == "/traced")
        .expect("the webhook was delivered");
    let traceparent = delivered
        .header("traceparent")
        .expect("a traceparent header");
    assert_eq!(
        traceparent,
        format!("00-{CALLER_TRACE}-{}-01", steps[1].span_id)
    );

    // Log lines of both processes carry the trace id.
    drop(cluster);
    tokio::time::sleep(Duration::from_millis(200)).await;
    for name in ["traces-api0", "traces-worker0"] {
        let path = std::env::temp_dir().join(format!("actuate-test-{name}.log"));
        let log = std::fs::read_to_string(&path).unwrap();
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("trace_id={CALLER_TRACE}"))
                    || l.contains(&format!("\"trace_id\":\"{CALLER_TRACE}\""))),
            "no log line of {name} names the trace ({})",
            path.display()
        );
    }
}

/// Without a caller's context the request span is the root of the execution's trace.
#[tokio::test]
async fn without_a_callers_context_the_request_starts_the_trace() {
    let receiver = OtlpReceiver::start().await;
    let mut cluster = Cluster::new("traces-root").await;
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    cluster.start_api_with(&otel).await;
    cluster.start_worker(&otel);
    let action_id = cluster
        .create_action(json!([cluster.webhook_step("/root")]), 60)
        .await;
    let execution_id = cluster.execute(0, &action_id).await;
    cluster
        .wait_status(&execution_id, "Completed", Duration::from_secs(60))
        .await;
    let spans = receiver
        .wait_for(Duration::from_secs(20), |spans| {
            spans.iter().any(|s| {
                s.name == "execution" && s.attribute("execution_id") == Some(&execution_id)
            }) && spans.iter().any(|s| s.name == "step")
        })
        .await;
    let execution = spans
        .iter()
        .find(|s| s.name == "execution" && s.attribute("execution_id") == Some(&execution_id))
        .expect("an execution span");
    let request = spans
        .iter()
        .find(|s| s.span_id == execution.parent_span_id)
        .expect("the execution span's parent was received");
    assert_eq!(
        (request.service.as_str(), request.name.as_str()),
        ("actuate-api", "request")
    );
    assert_eq!(request.trace_id, execution.trace_id);
    assert!(request.parent_span_id.is_empty(), "the request is the root");
    let delivered = cluster.sink.requests();
    let traceparent = delivered[0].header("traceparent").expect("a traceparent");
    assert!(traceparent.starts_with(&format!("00-{}-", execution.trace_id)));
}
