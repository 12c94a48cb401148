//! Secrets in steps and signed webhooks, on every backend: a secret reaches the webhook
//! receiver, the mail server and the Python code, and nothing stored shows it; an unknown
//! secret fails the step naming it; every webhook is signed so that the specification's
//! reference library accepts it, with both secrets during a rotation, and keeps its
//! `webhook-id` across retries.

use crate::helpers::{TestWorker, python, test_keyring};
use actuate_shared::domain::model::{ExecutionStatus, StepType};
use actuate_shared::domain::retry::RetryPolicy;
use actuate_shared::domain::secrets::{SecretName, SecretValue};
use actuate_shared::vault::Vault;
use actuate_tests::signatures;
use actuate_tests::sink::Sink;
use actuate_tests::smtp::SmtpSink;
use serde_json::json;
use std::time::Duration;

const CANARY: &str = "canary-5b8e2d40-must-not-leak";
const WAIT: Duration = Duration::from_secs(30);

fn vault(worker: &TestWorker) -> Vault {
    Vault::new(worker.store.clone(), Some(test_keyring()))
}

async fn set_secret(worker: &TestWorker, name: &str, value: &str) {
    vault(worker)
        .put(
            worker.scope,
            &SecretName::parse(name).unwrap(),
            &SecretValue::parse(value.into()).unwrap(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_secret_reaches_webhooks_mail_and_python_and_nothing_stored_shows_it() {
    let smtp = SmtpSink::start().await;
    let port = smtp.port;
    let worker = TestWorker::start_with(move |s| s.smtp = Some(crate::email::smtp(port))).await;
    let sink = Sink::start().await;
    set_secret(&worker, "CANARY", CANARY).await;
    let message = worker
        .queue(
            &[
                python(
                    "print('token is', secrets['CANARY'])\n\
                     result = {'echo': secrets['CANARY'], 'length': len(secrets['CANARY']),\n\
                               'names': list(secrets)}",
                ),
                (
                    StepType::Webhook,
                    json!({
                        "url": sink.url("/echo"),
                        "headers": {"Authorization": "Bearer {{ secrets.CANARY }}"},
                        "body": {"token": "{{ secrets.CANARY }}", "from": "{{ steps[1].output.echo }}"}
                    }),
                ),
                (
                    StepType::Email,
                    json!({
                        "recipients": ["ops@example.com"],
                        "subject": "token",
                        "body": "the token is {{ secrets.CANARY }}"
                    }),
                ),
                python("raise ValueError('failing with ' + secrets['CANARY'])"),
            ],
            60,
        )
        .await;
    let detail = worker.deliver_to_end(&message, WAIT).await;
    assert_eq!(
        detail.execution.status,
        ExecutionStatus::Failed,
        "{detail:?}"
    );

    // The values went where the steps sent them.
    let python_output = detail.steps[0].output.clone().unwrap();
    assert_eq!(python_output["length"], CANARY.len(), "{python_output}");
    assert_eq!(python_output["names"], json!(["CANARY"]));
    let received = sink.requests();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].header("authorization"),
        Some(format!("Bearer {CANARY}").as_str())
    );
    let body: serde_json::Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(body["token"], CANARY);
    assert_eq!(
        body["from"], "[redacted]",
        "a step sees earlier outputs as stored"
    );
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].data.contains(CANARY), "{}", mails[0].data);

    // Nothing stored, noted or shown holds them.
    let shown = serde_json::to_string(&detail).unwrap();
    assert!(!shown.contains(CANARY), "{shown}");
    assert_eq!(python_output["echo"], "[redacted]");
    assert!(
        detail.steps[0]
            .log
            .as_deref()
            .unwrap()
            .contains("token is [redacted]")
    );
    let echoed = &detail.steps[1].output.as_ref().unwrap()["body"];
    assert_eq!(echoed["headers"]["authorization"], "Bearer [redacted]");
    let notes = detail.execution.notes.clone().unwrap_or_default();
    assert!(notes.contains("failing with [redacted]"), "{notes}");
    let tables = worker.store.tables_containing(CANARY).await.unwrap();
    assert!(
        tables.is_empty(),
        "the secret is stored in clear in {tables:?}"
    );
}

#[tokio::test]
async fn an_unknown_secret_fails_the_step_with_a_note_naming_it() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    set_secret(&worker, "KNOWN", "value").await;
    let webhook = worker
        .queue(
            &[(
                StepType::Webhook,
                json!({"url": sink.url("/x"), "headers": {"X-Key": "{{ secrets.MISSING }}"}}),
            )],
            60,
        )
        .await;
    let detail = worker.deliver_to_end(&webhook, WAIT).await;
    assert_eq!(detail.execution.status, ExecutionStatus::Failed);
    let notes = detail.execution.notes.unwrap();
    assert!(notes.contains("unknown secret MISSING"), "{notes}");
    assert!(sink.requests().is_empty(), "nothing was sent");

    let code = worker.queue(&[python("x = secrets['MISSING']")], 60).await;
    let detail = worker.deliver_to_end(&code, WAIT).await;
    let notes = detail.execution.notes.unwrap();
    assert!(notes.contains("unknown secret 'MISSING'"), "{notes}");

    // Read-only in Python.
    let code = worker
        .queue(&[python("secrets['KNOWN'] = 'changed'")], 60)
        .await;
    let detail = worker.deliver_to_end(&code, WAIT).await;
    let notes = detail.execution.notes.unwrap();
    assert!(notes.contains("TypeError"), "{notes}");
}

#[tokio::test]
async fn a_worker_without_the_key_fails_steps_that_use_secrets_and_sends_webhooks_unsigned() {
    let worker = TestWorker::start_with(|s| s.secrets = None).await;
    let sink = Sink::start().await;
    set_secret(&worker, "TOKEN", CANARY).await;
    let message = worker.queue(&[python("x = secrets['TOKEN']")], 60).await;
    let detail = worker.deliver_to_end(&message, WAIT).await;
    let notes = detail.execution.notes.unwrap();
    assert!(notes.contains("ACTUATE_SECRETS_KEY"), "{notes}");

    let message = worker
        .queue(
            &[(StepType::Webhook, json!({"url": sink.url("/plain")}))],
            60,
        )
        .await;
    let detail = worker.deliver_to_end(&message, WAIT).await;
    assert_eq!(detail.execution.status, ExecutionStatus::Completed);
    let request = &sink.requests()[0];
    assert!(request.header("webhook-id").is_some());
    assert!(request.header("webhook-timestamp").is_some());
    assert!(request.header("webhook-signature").is_none());
}

#[tokio::test]
async fn webhooks_are_signed_as_the_reference_library_expects() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let message = worker
        .queue(
            &[
                (
                    StepType::Webhook,
                    json!({"url": sink.url("/json"), "body": {"customer": "{{ input.customer }}", "n": 1}}),
                ),
                (
                    StepType::Webhook,
                    json!({"url": sink.url("/text"), "body": "plain text é"}),
                ),
                (
                    StepType::Webhook,
                    json!({"url": sink.url("/empty"), "method": "GET"}),
                ),
            ],
            60,
        )
        .await;
    let detail = worker.deliver_to_end(&message, WAIT).await;
    assert_eq!(
        detail.execution.status,
        ExecutionStatus::Completed,
        "{detail:?}"
    );

    let secrets = vault(&worker)
        .signing_secrets(worker.scope, None)
        .await
        .unwrap();
    assert_eq!(secrets.len(), 1, "made on first use");
    let made = worker
        .store
        .list_audit(
            worker.scope,
            actuate_shared::storage::AuditFilter {
                action: Some(actuate_shared::domain::audit::AuditAction::WebhookSecretCreate),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(made.len(), 1, "recorded once: {made:?}");
    assert_eq!(made[0].key_id, None, "made by the worker, not by a key");
    let secret = secrets[0].expose();
    let requests = sink.requests();
    assert_eq!(requests.len(), 3);
    let mut ids = Vec::new();
    for request in &requests {
        signatures::verify(secret, request).unwrap_or_else(|e| panic!("{}: {e}", request.path));
        ids.push(request.header("webhook-id").unwrap().to_string());
        // A changed body, or another secret, is refused.
        let mut tampered = request.clone();
        tampered.body = format!("{}x", String::from_utf8_lossy(&request.body)).into();
        assert!(signatures::verify(secret, &tampered).is_err());
        let other = actuate_shared::domain::webhook_signing::SigningSecret::generate();
        assert!(signatures::verify(other.expose(), request).is_err());
    }
    ids.dedup();
    assert_eq!(ids.len(), 3, "one id per step: {ids:?}");
}

#[tokio::test]
async fn during_a_rotation_both_secrets_sign_and_a_retry_keeps_its_webhook_id() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let vault = vault(&worker);
    let old = vault.signing_secrets(worker.scope, None).await.unwrap()[0].clone();
    let new = vault.rotate_signing_secret(worker.scope).await.unwrap();
    let action = worker
        .action_retrying(
            worker.scope,
            &[(StepType::Webhook, json!({"url": sink.url("/flaky/1/503")}))],
            Some(RetryPolicy {
                max_attempts: 2,
                initial_delay_seconds: 0.05,
                backoff_factor: 1.0,
                max_delay_seconds: 0.05,
            }),
            60,
        )
        .await;
    let message = worker.execute(action).await;
    worker.deliver(&message.to_bytes()).await;
    // Held for the retry, released, delivered again.
    let deadline = std::time::Instant::now() + WAIT;
    while sink.requests().len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no retry");
        worker.idle(WAIT).await;
        if worker.store.release_due(10).await.unwrap() > 0 {
            worker.deliver(&message.to_bytes()).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.idle(WAIT).await;
    let detail = worker.detail(message.execution_id).await;
    assert_eq!(
        detail.execution.status,
        ExecutionStatus::Completed,
        "{detail:?}"
    );

    let requests = sink.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].header("webhook-id"),
        requests[1].header("webhook-id"),
        "a retry is the same message"
    );
    for request in &requests {
        let signatures = request.header("webhook-signature").unwrap();
        assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
        signatures::verify(new.expose(), request).expect("the new secret verifies");
        signatures::verify(old.expose(), request).expect("the old secret still verifies");
    }
}

#[tokio::test]
async fn a_projects_secrets_do_not_linger_where_another_projects_code_runs() {
    // One runner: both projects' steps run on it, one after the other.
    let worker = TestWorker::start_with(|s| s.python.size = 1).await;
    set_secret(&worker, "TOKEN", CANARY).await;
    let leave = "import json, os\njson._left_behind = secrets['TOKEN']\nresult = os.getpid()";
    let look = "import json, os\nresult = [getattr(json, '_left_behind', None), os.getpid()]";
    let message = worker.queue(&[python(leave)], 60).await;
    let detail = worker.deliver_to_end(&message, WAIT).await;
    let session = detail.steps[0].output.clone().unwrap();
    // The project's next step runs in the same session and finds the value left behind,
    // though it uses no secret itself: it is redacted all the same.
    let again = worker.queue(&[python(look)], 60).await;
    let detail = worker.deliver_to_end(&again, WAIT).await;
    assert_eq!(
        detail.steps[0].output,
        Some(json!(["[redacted]", session])),
        "{detail:?}"
    );

    // Same tenant, another project: a session of its own.
    let other = actuate_shared::domain::ids::Scope {
        tenant_id: worker.scope.tenant_id,
        project_id: actuate_shared::domain::ids::ProjectId::new(),
    };
    let action = worker.action_in(other, &[python(look)], 60).await;
    let message = worker.execute_in(other, action, json!({})).await;
    let detail = worker.deliver_to_end(&message, WAIT).await;
    let seen = detail.steps[0].output.clone().unwrap();
    assert_eq!(seen[0], json!(null), "{seen}");
    assert_ne!(seen[1], session, "a session of its own");
}

#[tokio::test]
async fn encoded_and_cut_off_secrets_are_redacted_too() {
    let worker = TestWorker::start().await;
    let sink = Sink::start().await;
    let token = "0123456789+/abcdefgh";
    set_secret(&worker, "T", token).await;

    // An HTTP error names the URL, with the secret percent-encoded in its query.
    let refused = worker
        .queue(
            &[(
                StepType::Webhook,
                json!({"url": "http://127.0.0.1:1/hook?t={{ secrets.T | urlencode }}"}),
            )],
            60,
        )
        .await;
    let detail = worker.deliver_to_end(&refused, WAIT).await;
    let shown = serde_json::to_string(&detail).unwrap();
    assert!(!shown.contains("0123456789"), "{shown}");

    // A receiver that answers 401 with what it was sent: the note keeps 200 characters of the
    // answer, and the secret starts 10 characters before that cut.
    let pad = "x".repeat(159);
    let echoed = worker
        .queue(
            &[(
                StepType::Webhook,
                json!({"url": sink.url("/echo/401"), "body": {"pad": pad, "token": "{{ secrets.T }}"}}),
            )],
            60,
        )
        .await;
    let detail = worker.deliver_to_end(&echoed, WAIT).await;
    let notes = detail.execution.notes.clone().unwrap();
    assert!(notes.contains("HTTP 401"), "{notes}");
    assert!(notes.ends_with(r#"\"token\":\"[redac"#), "{notes}");
    let shown = serde_json::to_string(&detail).unwrap();
    assert!(!shown.contains("0123456789"), "{shown}");

    // A log cut at its cap just after the secret began.
    let cap = 1024 * 1024;
    let code = format!("print('y' * {} + secrets['T'])", cap - 6);
    let long = worker.queue(&[python(&code)], 60).await;
    let detail = worker.deliver_to_end(&long, WAIT).await;
    let log = detail.steps[0].log.clone().unwrap();
    assert!(
        log.contains("[log truncated"),
        "{}",
        &log[log.len() - 100..]
    );
    assert!(!log.contains("012345"), "{}", &log[log.len() - 100..]);
    assert!(log.contains("[redacted]"), "{}", &log[log.len() - 100..]);
}
