//! Email steps against a real SMTP server on loopback (aiosmtpd), and templated settings.

use crate::helpers::{TestWorker, python};
use actuate_shared::domain::model::{ExecutionDetail, ExecutionStatus, StepType};
use actuate_tests::sink::Sink;
use actuate_tests::smtp::SmtpSink;
use actuate_worker::settings::{SmtpSettings, SmtpTls};
use serde_json::{Value, json};
use std::time::Duration;

/// The worker's settings for the test's SMTP server on `port`.
pub fn smtp(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        username: None,
        password: None,
        from: "Actuate Reports <reports@actuate.test>".parse().unwrap(),
        timeout: Duration::from_secs(5),
    }
}

async fn worker_for(sink: &SmtpSink) -> TestWorker {
    let port = sink.port;
    TestWorker::start_with(move |s| {
        s.smtp = Some(smtp(port));
        s.email_max_recipients = 5;
    })
    .await
}

async fn run(worker: &TestWorker, steps: &[(StepType, Value)], input: Value) -> ExecutionDetail {
    let action = worker.action(steps, 60).await;
    let message = worker.execute_with_input(action, input).await;
    worker
        .deliver_to_end(&message, Duration::from_secs(20))
        .await
}

fn email(settings: Value) -> (StepType, Value) {
    (StepType::Email, settings)
}

#[tokio::test]
async fn a_message_arrives_with_envelope_headers_parts_and_rendered_values() {
    let sink = SmtpSink::start().await;
    let worker = worker_for(&sink).await;
    let detail = run(
        &worker,
        &[
            python("result = {'rows': 42, 'region': 'EMEA'}"),
            email(json!({
                "recipients": ["team@company.test", "{{ input.manager }}"],
                "cc": ["Finance <finance@company.test>"],
                "bcc": ["audit@company.test"],
                "replyTo": "help@company.test",
                "subject": "Report for {{ input.customer }}: {{ steps[1].output.rows }} rows",
                "body": "Hello,\n{{ steps[1].output.rows }} rows in {{ steps[1].output.region }}.\nExecution {{ execution.id }} of {{ action.name }}.",
                "html": "<p>{{ input.customer }} — <b>{{ steps[1].output.rows }}</b></p>",
            })),
        ],
        json!({"customer": "ACME <Corp>", "manager": "Mia Manager <mia@company.test>"}),
    )
    .await;
    assert_eq!(
        detail.execution.status,
        ExecutionStatus::Completed,
        "{detail:?}"
    );
    let id = detail.execution.action_execution_id;

    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.mail_from, "reports@actuate.test");
    let mut rcpts = m.rcpt_tos.clone();
    rcpts.sort();
    assert_eq!(
        rcpts,
        vec![
            "audit@company.test",
            "finance@company.test",
            "mia@company.test",
            "team@company.test"
        ]
    );
    assert_eq!(
        m.header("From").as_deref(),
        Some("\"Actuate Reports\" <reports@actuate.test>")
    );
    let to = m.header("To").unwrap();
    assert!(
        to.contains("team@company.test") && to.contains("mia@company.test"),
        "{to}"
    );
    assert!(m.header("Cc").unwrap().contains("finance@company.test"));
    assert_eq!(m.header("Bcc"), None, "Bcc never appears in the message");
    assert_eq!(m.header("Reply-To").as_deref(), Some("help@company.test"));
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("Report for ACME <Corp>: 42 rows")
    );
    assert_eq!(m.header("Message-ID"), Some(format!("<{id}.2@actuate>")));
    assert!(
        m.header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative")
    );
    assert!(m.data.contains("42 rows in EMEA."), "{}", m.data);
    assert!(m.data.contains(&format!("Execution {id} of")), "{}", m.data);
    assert!(m.data.contains("text/html"));
    assert!(
        m.data.contains("ACME &lt;Corp&gt;"),
        "HTML values are escaped: {}",
        m.data
    );

    let output = detail.steps[1].output.as_ref().unwrap();
    assert_eq!(output["accepted"].as_array().unwrap().len(), 4);
    assert_eq!(output["response"]["code"], "250");
    assert!(
        output["response"]["message"]
            .as_str()
            .unwrap()
            .contains("queued as test-1")
    );
    assert_eq!(output["messageId"], format!("<{id}.2@actuate>"));
}

#[tokio::test]
async fn crlf_injection_adds_no_header_and_no_recipient() {
    let sink = SmtpSink::start().await;
    let worker = worker_for(&sink).await;
    let evil = "x@company.test\r\nBcc: evil@attacker.test";
    for (name, settings) in [
        (
            "subject",
            json!({"recipients": ["a@company.test"], "subject": "{{ input.evil }}"}),
        ),
        ("recipient", json!({"recipients": ["{{ input.evil }}"]})),
        (
            "display name",
            json!({"recipients": ["{{ input.name }} <a@company.test>"]}),
        ),
        (
            "reply-to",
            json!({"recipients": ["a@company.test"], "replyTo": "{{ input.evil }}"}),
        ),
    ] {
        let detail = run(
            &worker,
            &[email(settings)],
            json!({"evil": evil, "name": "Evil\r\nBcc: evil@attacker.test"}),
        )
        .await;
        assert_eq!(detail.execution.status, ExecutionStatus::Failed, "{name}");
        let notes = detail.execution.notes.unwrap();
        assert!(
            notes.contains("line break") || notes.contains("not an email address"),
            "{name}: {notes}"
        );
    }
    assert!(sink.messages().is_empty(), "nothing was sent");

    // Unicode and a long subject are encoded, never broken into extra headers.
    let detail = run(
        &worker,
        &[email(
            json!({"recipients": ["a@company.test"], "subject": "Überprüfung: {{ input.s }}"}),
        )],
        json!({"s": "日本語 ".repeat(30)}),
    )
    .await;
    assert_eq!(detail.execution.status, ExecutionStatus::Completed);
    let m = &sink.messages()[0];
    assert_eq!(m.rcpt_tos, vec!["a@company.test"]);
    let names: Vec<String> = m
        .headers()
        .iter()
        .map(|h| h.split(':').next().unwrap().to_ascii_lowercase())
        .collect();
    assert_eq!(names.iter().filter(|n| *n == "subject").count(), 1);
    assert!(!names.contains(&"bcc".to_string()));
}

#[tokio::test]
async fn unreachable_smtp_server_fails_with_notes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let worker = TestWorker::start_with(move |s| s.smtp = Some(smtp(port))).await;
    let detail = run(
        &worker,
        &[email(json!({"recipients": ["a@company.test"]}))],
        json!({}),
    )
    .await;
    assert_eq!(detail.execution.status, ExecutionStatus::Failed);
    let notes = detail.execution.notes.unwrap();
    assert!(
        notes.starts_with(&format!("step 1 (Email) failed: SMTP 127.0.0.1:{port}:")),
        "{notes}"
    );
}

#[tokio::test]
async fn missing_smtp_settings_fail_the_step_not_the_worker() {
    let worker = TestWorker::start().await;
    let detail = run(
        &worker,
        &[email(json!({"recipients": ["a@company.test"]}))],
        json!({}),
    )
    .await;
    assert_eq!(
        detail.execution.notes.as_deref(),
        Some(
            "step 1 (Email) failed: SMTP is not configured: set ACTUATE_SMTP_HOST and ACTUATE_SMTP_FROM on the worker"
        )
    );
}

#[tokio::test]
async fn recipient_cap_and_template_errors_fail_with_notes() {
    let sink = SmtpSink::start().await;
    let worker = worker_for(&sink).await;
    let many: Vec<String> = (0..6).map(|i| format!("r{i}@company.test")).collect();
    let detail = run(&worker, &[email(json!({"recipients": many}))], json!({})).await;
    assert_eq!(
        detail.execution.notes.as_deref(),
        Some(
            "step 1 (Email) failed: 6 recipients exceed the limit of 5 (ACTUATE_EMAIL_MAX_RECIPIENTS)"
        )
    );
    let detail = run(
        &worker,
        &[email(
            json!({"recipients": ["a@company.test"], "subject": "Hi {{ input.nobody }}"}),
        )],
        json!({}),
    )
    .await;
    let notes = detail.execution.notes.unwrap();
    assert!(
        notes.starts_with("step 1 (Email) failed: subject: template error"),
        "{notes}"
    );
    assert!(notes.contains("undefined"), "{notes}");
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_python_output_feeds_an_email_and_a_webhook_in_one_execution() {
    let sink = SmtpSink::start().await;
    let http = Sink::start().await;
    let worker = worker_for(&sink).await;
    let detail = run(
        &worker,
        &[
            python("def main(context):\n    return {'total': 17, 'who': context['input']['customer']}"),
            email(json!({"recipients": ["ops@company.test"], "subject": "Total {{ steps[1].output.total }}", "body": "for {{ steps[1].output.who }}"})),
            (StepType::Webhook, json!({
                "url": http.url("/report/{{ steps[1].output.total }}"),
                "headers": {"X-Customer": "{{ input.customer }}"},
                "body": {"total": "{{ steps[1].output.total }}", "mail": "{{ steps[2].output.messageId }}"},
            })),
        ],
        json!({"customer": "ACME"}),
    )
    .await;
    assert_eq!(
        detail.execution.status,
        ExecutionStatus::Completed,
        "{detail:?}"
    );
    let m = &sink.messages()[0];
    assert_eq!(m.header("Subject").as_deref(), Some("Total 17"));
    assert!(m.data.contains("for ACME"));
    let requests = http.requests();
    assert_eq!(requests[0].path, "/report/17");
    assert_eq!(requests[0].header("x-customer"), Some("ACME"));
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["total"], "17");
    assert_eq!(
        body["mail"],
        format!("<{}.2@actuate>", detail.execution.action_execution_id)
    );
}
