//! The canary: a secret used by Python, Email and Webhook steps of real processes reaches the
//! receivers, and appears in no API answer, no log line of the API or the worker (at debug
//! level), no note, output or log of a step, and no database column but its ciphertext.

use actuate_shared::crypto::Keyring;
use actuate_tests::cluster::Cluster;
use actuate_tests::smtp::SmtpSink;
use serde_json::json;
use std::time::Duration;

const CANARY: &str = "canary-91d4e0b7-never-shown";

#[tokio::test]
async fn a_canary_secret_is_used_by_every_step_kind_and_shown_nowhere() {
    let smtp = SmtpSink::start().await;
    let key = Keyring::generate_key();
    let mut cluster = Cluster::new("canary").await;
    let debug = [("ACTUATE_SECRETS_KEY", key.as_str()), ("RUST_LOG", "debug")];
    cluster.start_api_with(&debug).await;
    let port = smtp.port.to_string();
    cluster.start_worker(&[
        ("ACTUATE_SECRETS_KEY", key.as_str()),
        ("RUST_LOG", "debug"),
        ("ACTUATE_SMTP_HOST", "127.0.0.1"),
        ("ACTUATE_SMTP_PORT", &port),
        ("ACTUATE_SMTP_TLS", "none"),
        ("ACTUATE_SMTP_FROM", "actuate@example.com"),
    ]);
    let base = cluster.base(0);
    let client = cluster.client.clone();
    let token = cluster.token.clone();
    let call = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&token)
    };
    // Every answer the API gives in this test, to search at the end.
    let mut answers = String::new();

    let set = call(reqwest::Method::PUT, "/secret/CANARY")
        .json(&json!({"value": CANARY}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 201);
    answers.push_str(&set.text().await.unwrap());

    let action_id = cluster
        .create_action(
            json!([
                {"stepType": "Python", "settings": {"code":
                    "print('using', secrets['CANARY'])\nresult = {'echo': secrets['CANARY']}"}},
                {"stepType": "Webhook", "settings": {
                    "url": cluster.sink.url("/echo"),
                    "headers": {"Authorization": "Bearer {{ secrets.CANARY }}"},
                    "body": {"token": "{{ secrets.CANARY }}"}}},
                {"stepType": "Email", "settings": {
                    "recipients": ["ops@example.com"], "subject": "s",
                    "body": "token {{ secrets.CANARY }}"}},
                {"stepType": "Python", "settings": {"code":
                    "raise RuntimeError('leaking ' + secrets['CANARY'])"}}
            ]),
            60,
        )
        .await;
    let execution_id = cluster.execute(0, &action_id).await;
    let ended = cluster
        .wait_status(&execution_id, "Failed", Duration::from_secs(60))
        .await;
    let notes = ended["notes"].as_str().unwrap_or_default();
    assert!(notes.contains("leaking [redacted]"), "{ended}");
    assert_eq!(ended["steps"][0]["output"]["echo"], "[redacted]");

    // The receivers got the value.
    let hook = &cluster.sink.requests()[0];
    assert_eq!(
        hook.header("authorization"),
        Some(format!("Bearer {CANARY}").as_str())
    );
    assert!(String::from_utf8_lossy(&hook.body).contains(CANARY));
    assert!(smtp.messages()[0].data.contains(CANARY));

    // Every way the API shows the execution and the secrets.
    for path in [
        format!("/actionexecution/{execution_id}"),
        format!("/actionexecution/action/{action_id}"),
        "/actionexecution".to_string(),
        format!("/actionexecution/lastaction/{action_id}"),
        format!("/action/{action_id}"),
        "/secret".to_string(),
    ] {
        let response = call(reqwest::Method::GET, &path).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        answers.push_str(&response.text().await.unwrap());
    }
    let package = call(
        reqwest::Method::GET,
        &format!("/actionexecution/downloadpackage/{execution_id}"),
    )
    .send()
    .await
    .unwrap()
    .bytes()
    .await
    .unwrap();
    // Entries are deflated: read them back to search their text.
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(package.to_vec())).unwrap();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
        answers.push_str(&text);
    }
    assert!(answers.contains("[redacted]"), "the answers were read");
    assert!(!answers.contains(CANARY), "an API answer shows the secret");

    let tables = {
        use actuate_shared::storage::Inspect;
        cluster.store.tables_containing(CANARY).await.unwrap()
    };
    assert!(tables.is_empty(), "stored in clear in {tables:?}");

    // Stop the processes so their logs are complete, then read every line.
    drop(cluster);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut read = 0;
    for name in ["canary-api0", "canary-worker0"] {
        let path = std::env::temp_dir().join(format!("actuate-test-{name}.log"));
        let log = std::fs::read_to_string(&path).unwrap();
        assert!(
            log.lines().count() > 10,
            "{} is nearly empty",
            path.display()
        );
        assert!(
            !log.contains(CANARY),
            "a log line of {name} shows the secret"
        );
        read += 1;
    }
    assert_eq!(read, 2);
}
