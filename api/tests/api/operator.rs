//! The operator commands of the `actuate-api` binary, run as real processes.

use crate::helpers::{TENANT, TestApp};
use actuate_tests::db::fresh_database;
use std::process::Output;

async fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_actuate-api"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "info");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().await.expect("run actuate-api")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn keys_create_list_revoke() {
    let app = TestApp::spawn().await;
    let db = [("DATABASE_URL", app.database_url.as_str())];

    let created = run(
        &["keys", "create", "--tenant", TENANT, "--name", "ci key"],
        &db,
    )
    .await;
    assert!(created.status.success(), "{}", text(&created.stderr));
    let stdout = text(&created.stdout);
    let token = stdout.trim();
    assert_eq!(
        stdout.lines().count(),
        1,
        "stdout holds the token alone: {stdout}"
    );
    assert!(token.starts_with("act_") && token.len() >= 47, "{token}");
    assert!(
        !text(&created.stderr).contains(token),
        "the token must never be logged"
    );

    let response = app
        .client
        .get(format!("{}/action", app.base()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let listed = run(&["keys", "list"], &db).await;
    assert!(listed.status.success());
    let listing = text(&listed.stdout);
    assert!(!listing.contains(token), "list never shows tokens");
    let line = listing
        .lines()
        .find(|l| l.contains("ci key"))
        .unwrap_or_else(|| panic!("key not listed: {listing}"));
    let key_id = line.split('\t').next().unwrap();
    assert!(line.contains(TENANT));

    // The database holds only a hash of the token.
    let stored = app
        .store
        .stored_token_hash(key_id.parse().unwrap())
        .await
        .unwrap()
        .expect("the key is stored");
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains(&token[4..]));

    let revoked = run(&["keys", "revoke", key_id], &db).await;
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    let response = app
        .client
        .get(format!("{}/action", app.base()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let listing = text(&run(&["keys", "list"], &db).await.stdout);
    let line = listing.lines().find(|l| l.contains("ci key")).unwrap();
    let revoked_at = line.split('\t').nth(5).unwrap();
    assert_ne!(revoked_at, "-", "revocation time shown: {line}");
    assert!(line.ends_with("\tread-write"), "{line}");

    // A read-only key reads and is refused everything else.
    let created = run(
        &[
            "keys",
            "create",
            "--tenant",
            TENANT,
            "--name",
            "reader",
            "--read-only",
        ],
        &db,
    )
    .await;
    assert!(created.status.success(), "{}", text(&created.stderr));
    let reader = text(&created.stdout).trim().to_string();
    let listing = text(&run(&["keys", "list"], &db).await.stdout);
    let line = listing.lines().find(|l| l.contains("reader")).unwrap();
    assert!(line.ends_with("\tread-only"), "{line}");
    let read = app
        .client
        .get(format!("{}/action", app.base()))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let write = app
        .client
        .post(format!("{}/action", app.base()))
        .bearer_auth(&reader)
        .json(&crate::helpers::action_body("not allowed"))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);

    let unknown = run(
        &["keys", "revoke", "00000000-0000-0000-0000-000000000001"],
        &db,
    )
    .await;
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).contains("no API key"),
        "{}",
        text(&unknown.stderr)
    );
}

#[tokio::test]
async fn a_project_scoped_key_is_listed_with_its_project() {
    let url = fresh_database().await;
    let db = [("DATABASE_URL", url.as_str())];
    let project = "87654321-4321-4321-4321-210987654321";
    let created = run(
        &["keys", "create", "--tenant", TENANT, "--project", project],
        &db,
    )
    .await;
    assert!(created.status.success(), "{}", text(&created.stderr));
    let listing = text(&run(&["keys", "list"], &db).await.stdout);
    assert!(listing.lines().any(|l| l.contains(project)), "{listing}");
}

#[tokio::test]
async fn bad_arguments_are_refused_clearly() {
    let url = fresh_database().await;
    let db = [("DATABASE_URL", url.as_str())];
    let out = run(&["keys", "create", "--tenant", "not-a-guid"], &db).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--tenant"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["keys", "create"], &db).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--tenant"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn migrate_is_repeatable_and_quiet() {
    let url = fresh_database().await;
    let db = [("DATABASE_URL", url.as_str())];
    for _ in 0..2 {
        let out = run(&["migrate"], &db).await;
        let log = text(&out.stderr);
        assert!(out.status.success(), "{log}");
        // A migration run that finds its bookkeeping table says nothing about it.
        assert!(!log.contains("already exists"), "{log}");
        assert_eq!(log.lines().count(), 1, "one line: {log}");
    }
}

#[tokio::test]
async fn settings_errors_name_the_variable() {
    let out = run(&["serve"], &[]).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("DATABASE_URL") && stderr.contains("is not set"),
        "{stderr}"
    );

    let out = run(&["serve"], &[("DATABASE_URL", "mysql://localhost/x")]).await;
    assert!(
        text(&out.stderr).contains("DATABASE_URL"),
        "{}",
        text(&out.stderr)
    );

    let out = run(
        &["serve"],
        &[
            ("DATABASE_URL", "postgres://postgres@127.0.0.1/postgres"),
            ("ACTUATE_BIND", "everywhere:80"),
        ],
    )
    .await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("ACTUATE_BIND") && stderr.contains("everywhere:80"),
        "{stderr}"
    );

    let out = run(
        &["keys", "list"],
        &[("DATABASE_URL", "postgres://u:hunter2@127.0.0.1:1/x")],
    )
    .await;
    assert!(!out.status.success());
    assert!(
        !text(&out.stderr).contains("hunter2"),
        "passwords are never printed: {}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn secrets_reseal_moves_every_value_to_the_new_key() {
    use actuate_shared::crypto::Keyring;
    use actuate_shared::domain::ids::Scope;
    use actuate_shared::vault::Vault;
    use serde_json::json;

    let app = TestApp::spawn().await;
    for name in ["ONE", "TWO"] {
        let response = app
            .put_secret(name, &json!({"value": format!("{name}-value")}))
            .await;
        assert_eq!(response.status(), 201);
    }
    let signing = app
        .webhook_secret()
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let old = app.secrets_key.clone();
    let new = Keyring::generate_key();
    let db = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("ACTUATE_SECRETS_KEY", new.as_str()),
        ("ACTUATE_SECRETS_PREVIOUS_KEYS", old.as_str()),
    ];
    let resealed = run(&["secrets", "reseal"], &db).await;
    assert!(resealed.status.success(), "{}", text(&resealed.stderr));
    assert_eq!(
        text(&resealed.stdout).trim(),
        "3",
        "two secrets and the signing secret"
    );
    let again = run(&["secrets", "reseal"], &db).await;
    assert_eq!(text(&again.stdout).trim(), "0");

    // The new key alone opens everything; the old one alone opens nothing.
    let scope = Scope {
        tenant_id: app.tenant,
        project_id: app.project,
    };
    let only_new = Vault::new(app.store.clone(), Some(Keyring::parse(&new, None).unwrap()));
    let opened = only_new.open_all(scope).await.unwrap();
    assert_eq!(opened.get("ONE").unwrap().expose(), "ONE-value");
    let signing_now = only_new.signing_secrets(scope, None).await.unwrap();
    assert_eq!(signing_now[0].expose(), signing["secret"].as_str().unwrap());
    let only_old = Vault::new(app.store.clone(), Some(Keyring::parse(&old, None).unwrap()));
    let refused = only_old.open_all(scope).await.unwrap_err().to_string();
    assert!(
        refused.contains("ACTUATE_SECRETS_PREVIOUS_KEYS"),
        "{refused}"
    );

    // Without the previous key, a value it sealed is named, and nothing changes.
    let missing = run(
        &["secrets", "reseal"],
        &[
            ("DATABASE_URL", app.database_url.as_str()),
            ("ACTUATE_SECRETS_KEY", Keyring::generate_key().as_str()),
        ],
    )
    .await;
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("ACTUATE_SECRETS_PREVIOUS_KEYS"),
        "{}",
        text(&missing.stderr)
    );
}
