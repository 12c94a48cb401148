//! One database per test: on the PostgreSQL server named by `ACTUATE_TEST_DATABASE_URL`, or a
//! SQLite file of its own, per [`Backend::from_env`].

use sqlx::Connection;

/// The PostgreSQL server (as a URL to its `postgres` database) to create test databases on.
pub fn admin_url() -> String {
    std::env::var("ACTUATE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Creates an empty database `actuate_test_<uuid>` and returns its URL. `scripts/test.sh`
/// drops those left by earlier runs.
pub async fn fresh_database() -> String {
    let admin = admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {admin} ({e}); start it with scripts/setup.sh or \
             point ACTUATE_TEST_DATABASE_URL at a server"
            )
        });
    let name = format!("actuate_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let (base, _) = admin
        .rsplit_once('/')
        .expect("admin URL has a database name");
    format!("{base}/{name}")
}

/// Drops a database made by [`fresh_database`], closing whatever is still connected to it.
pub async fn drop_database(url: &str) {
    let Some((_, name)) = url.rsplit_once('/') else {
        return;
    };
    if !name.starts_with("actuate_test_") {
        return;
    }
    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}

/// The storage backend the API and worker suites run against: `ACTUATE_TEST_BACKEND`,
/// `postgres` (the default) or `sqlite`. `scripts/test.sh` runs both suites once per backend,
/// so every test of behaviour holds on both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn from_env() -> Self {
        match std::env::var("ACTUATE_TEST_BACKEND").as_deref() {
            Err(_) | Ok("postgres") => Backend::Postgres,
            Ok("sqlite") => Backend::Sqlite,
            Ok(other) => panic!("ACTUATE_TEST_BACKEND={other}: expected postgres or sqlite"),
        }
    }
}

/// An empty database of the configured backend, for one test: its URL.
pub async fn fresh_store_url() -> String {
    match Backend::from_env() {
        Backend::Postgres => fresh_database().await,
        Backend::Sqlite => fresh_sqlite_url(),
    }
}

/// A SQLite file of its own under the temporary directory (`actuate_test_<uuid>/actuate.db`;
/// `scripts/test.sh` removes those of earlier runs).
pub fn fresh_sqlite_url() -> String {
    let dir = std::env::temp_dir().join(format!("actuate_test_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("create test directory");
    format!("sqlite://{}", dir.join("actuate.db").display())
}
