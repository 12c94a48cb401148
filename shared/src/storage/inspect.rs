//! What integration tests read and arrange below the store's interface (feature
//! `test-support`). Every backend implements it, so a test states what it checks ("one
//! execution per fired slot") and never the SQL of one backend.

use super::{PgStore, SqliteStore, Store, StoreResult};
use crate::domain::ids::{ActionId, ExecutionId, KeyId};
use crate::domain::model::TriggerKind;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// One recorded schedule slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FiringRecord {
    pub slot: DateTime<Utc>,
    /// Fired, or recorded as missed.
    pub fired: bool,
}

#[async_trait]
pub trait Inspect: Send + Sync + 'static {
    /// Executions of every tenant; with `trigger`, only those it created.
    async fn count_executions(&self, trigger: Option<TriggerKind>) -> StoreResult<i64>;
    /// Outbox rows; with `execution`, only its.
    async fn count_outbox(&self, execution: Option<ExecutionId>) -> StoreResult<i64>;
    /// Every recorded schedule slot, oldest first.
    async fn firings(&self) -> StoreResult<Vec<FiringRecord>>;
    /// The maxRunTime an execution took from its action when it was created.
    async fn execution_max_run_time(&self, id: ExecutionId) -> StoreResult<Option<i32>>;
    /// What the store keeps of a key's token.
    async fn stored_token_hash(&self, key: KeyId) -> StoreResult<Option<Vec<u8>>>;
    /// Moves every trigger's next firing to 06:00 UTC `days` days ago, as if no scheduler had
    /// run since.
    async fn rewind_triggers(&self, days: i32) -> StoreResult<()>;
    /// Writes a step's settings without validation, as an older version might have stored
    /// them.
    async fn overwrite_step_settings(&self, action: ActionId, settings: &str) -> StoreResult<()>;
    /// Moves a finished execution's end (and start, the same distance) to `ended`, as if it
    /// had run then.
    async fn backdate_execution(&self, id: ExecutionId, ended: DateTime<Utc>) -> StoreResult<()>;
    /// The stored steps of an execution.
    async fn count_execution_steps(&self, id: ExecutionId) -> StoreResult<i64>;
    /// The tables with a row holding `needle` in any column, as text or as bytes (PostgreSQL's
    /// `bytea` is searched in its hex form): where a secret would show if it leaked.
    async fn tables_containing(&self, needle: &str) -> StoreResult<Vec<String>>;
}

/// A store a test can also inspect: every backend is both.
pub trait TestStore: Store + Inspect {}

impl<T: Store + Inspect> TestStore for T {}

/// Opens the backend `url` names (as [`super::open`] does) for a test, which needs
/// [`Inspect`] as well.
pub fn open_test_store(url: &str) -> StoreResult<Arc<dyn TestStore>> {
    let settings = crate::settings::DatabaseSettings {
        url: url.to_string(),
        max_connections: 8,
        acquire_timeout: std::time::Duration::from_secs(5),
    };
    Ok(if url.starts_with("sqlite:") {
        Arc::new(SqliteStore::from_settings(&settings)?)
    } else {
        Arc::new(PgStore::from_settings(&settings)?)
    })
}
