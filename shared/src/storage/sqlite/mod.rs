//! The SQLite backend: standalone mode's store, one file per storage concern as in
//! `postgres/`, and the same contract (the integration suites run against both).
//!
//! How it differs from PostgreSQL, and why:
//! - **One writer, group commit.** SQLite lets one transaction write at a time. Every write
//!   goes to one task with one connection ([`writer`]), which commits together whatever writes
//!   are waiting: no writer spins on `SQLITE_BUSY`, none waits behind another's fsync, and a
//!   caller is answered once its write is durable. Reads use a pool of their own: in WAL mode
//!   they never wait for the writer, and see what it committed.
//! - **No writable CTEs, no `SKIP LOCKED`.** A PostgreSQL statement that updates several
//!   tables becomes a short transaction of several statements; with one writer nothing needs
//!   skipping.
//! - **The clock is this process's.** There is one process, so "the database's clock" is
//!   ours: every timestamp (leases, deadlines, due triggers) is computed in Rust and bound.
//! - **Notices** are an in-process broadcast: the only worker is in this process.
//! - **Durability.** WAL with `synchronous = FULL`: a commit is fsynced before it returns, so
//!   an execute that answered 200 survives a power cut as it does on PostgreSQL with
//!   `synchronous_commit = on`. (`NORMAL` would survive a SIGKILL but not a power cut.)

mod actions;
mod audit;
mod concurrency;
mod dashboard;
mod executions;
mod held;
mod history;
#[cfg(feature = "test-support")]
mod inspect;
mod keys;
mod notices;
mod outbox;
mod retention;
mod schedule;
mod secrets;
mod work;
mod writer;

use super::{StoreError, StoreResult};
use crate::domain::ids::ExecutionId;
use crate::settings::DatabaseSettings;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use writer::Writer;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for a lock held by another connection (a reader's checkpoint,
/// or another process opening the same file, such as `actuate keys create` beside a running
/// server) before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct SqliteStore {
    /// Every write, in shared commits.
    writer: Writer,
    /// How to open the file: the writer's and the readers' connections, and migrations'.
    options: SqliteConnectOptions,
    /// Reads that need no write in the same transaction.
    reader: SqlitePool,
    /// Cancelled executions, to this process's worker.
    cancellations: broadcast::Sender<ExecutionId>,
    /// When this store was opened: a lease taken before it belongs to an earlier process.
    opened: Instant,
}

impl SqliteStore {
    /// Opens (creating when absent) the file `url` names: `sqlite:PATH` or `sqlite://PATH`.
    /// Connections are made when first needed. Starts the writer task: call it within a tokio
    /// runtime.
    pub fn from_settings(settings: &DatabaseSettings) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(&settings.url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let writer = Writer::start(options.clone(), settings.acquire_timeout);
        let reader = SqlitePoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(settings.acquire_timeout)
            .connect_lazy_with(options.clone().read_only(true));
        let (cancellations, _) = broadcast::channel(1024);
        Ok(Self {
            writer,
            options,
            reader,
            cancellations,
            opened: Instant::now(),
        })
    }

    /// A store on the file at `path` with default pool sizes (tests, tools).
    pub fn open_path(path: &std::path::Path) -> StoreResult<Self> {
        Self::from_settings(&DatabaseSettings {
            url: format!("sqlite://{}", path.display()),
            max_connections: 4,
            acquire_timeout: Duration::from_secs(5),
        })
    }
}

/// Timestamps are truncated to microseconds, as on PostgreSQL, so both backends return the
/// same values and a stored value reads back equal.
pub(super) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// `at + d`, for leases and deadlines.
pub(super) fn after(at: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    at + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

pub(super) fn is_unique_violation(err: &sqlx::Error, table_column: &str) -> bool {
    // SQLite names the columns, not the constraint: "UNIQUE constraint failed: actions.name"
    // (with every column of the constraint listed).
    matches!(err, sqlx::Error::Database(db)
        if db.kind() == sqlx::error::ErrorKind::UniqueViolation
            && db.message().contains(table_column))
}

pub(super) use super::rows::decode;

/// A list of values bound as one parameter: SQLite has no arrays, so lists travel as JSON text
/// and are opened with `json_each`.
pub(super) fn json_list<T: serde::Serialize>(values: &[T]) -> StoreResult<String> {
    serde_json::to_string(values)
        .map_err(|e| StoreError::Database(sqlx::Error::Encode(Box::new(e))))
}
