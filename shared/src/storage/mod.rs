//! Storage behind one interface, used by the API and the worker alike. PostgreSQL is the
//! backend for deployments, SQLite the one of standalone mode; the same integration tests run
//! against both. Both write the hot path with group commit: PostgreSQL through batchers
//! (`postgres/batch.rs`), SQLite through its one writer (`sqlite/writer.rs`).
//!
//! The interface is split by concern: [`KeyStore`], [`ActionStore`], [`ExecutionStore`] (what
//! the API asks), [`WorkStore`] (what workers and reapers do, every write fenced by the
//! claim's attempt number), [`OutboxStore`] (what relays publish), [`ScheduleStore`] (what
//! schedulers fire), [`NoticeStore`] (notices between processes), [`SecretStore`] (a
//! project's sealed secrets) and [`AuditStore`] (the audit log). [`Store`] is all of them,
//! and [`open`] picks the backend from the database URL.
//! Every call that touches tenant data takes a [`Scope`], and every implementation must filter
//! every query on it.

mod dashboard;
#[cfg(feature = "test-support")]
mod inspect;
mod postgres;
mod rows;
mod sqlite;
mod types;

pub use dashboard::{DashboardStore, StatusCount, UiSession};
#[cfg(feature = "test-support")]
pub use inspect::{FiringRecord, Inspect, TestStore, open_test_store};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use types::*;

use crate::crypto::Sealed;
use crate::domain::audit::{AuditEntry, NewAuditEntry};
use crate::domain::auth::{ApiKey, TokenHash};
use crate::domain::draft::{ActionDraft, ActionPatch};
use crate::domain::ids::{
    ActionId, ExecutionId, KeyId, ProjectId, Scope, StepId, TenantId, TriggerId,
};
use crate::domain::model::{Action, Execution, ExecutionDetail, TriggerKind};
use crate::domain::names::EventName;
use crate::domain::policy::events;
use crate::domain::secrets::SecretName;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("an action with this name already exists in the project")]
    NameTaken,
    #[error("step {0} does not belong to this action")]
    UnknownStep(StepId),
    #[error("trigger {0} does not belong to this action")]
    UnknownTrigger(TriggerId),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// The database refused the data itself (SQLSTATE class 22, "data exception", or 54,
    /// "program limit exceeded"): the same write can never succeed, so it is not retried.
    /// [`crate::domain::storable`] keeps such data from reaching a write; this is the backstop.
    pub fn is_data_error(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => match sqlite_code(e.as_ref()) {
                Some(code) => code == SQLITE_TOOBIG,
                None => e
                    .code()
                    .is_some_and(|code| code.starts_with("22") || code.starts_with("54")),
            },
            StoreError::Database(sqlx::Error::Encode(_)) => true,
            _ => false,
        }
    }

    /// The database could not be reached or is not accepting work right now (connection
    /// refused or cut, pool timeout, server shutting down or starting up, too many
    /// connections): the same call may succeed later, and it says nothing about the data or
    /// about who owns a claim.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(e) => match e {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                // 08: connection exception; 57P01-03: admin / crash shutdown, cannot connect
                // now (starting up or recovering); 53300: too many connections.
                sqlx::Error::Database(db) => match sqlite_code(db.as_ref()) {
                    Some(code) => SQLITE_UNAVAILABLE.contains(&code),
                    None => db.code().is_some_and(|code| {
                        code.starts_with("08")
                            || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
                    }),
                },
                _ => false,
            },
            _ => false,
        }
    }
}

/// SQLite's primary result code of an error from the SQLite backend (its extended code with
/// the extension bits dropped); `None` for other backends.
fn sqlite_code(e: &dyn sqlx::error::DatabaseError) -> Option<i32> {
    e.try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .and_then(|e| sqlx::error::DatabaseError::code(e)?.parse::<i32>().ok())
        .map(|code| code & 0xff)
}

/// SQLITE_TOOBIG: a string or blob over the size limit.
const SQLITE_TOOBIG: i32 = 18;
/// BUSY, LOCKED (another process holds the file past the busy timeout), IOERR, FULL (disk
/// full), CANTOPEN: the same call may work later.
const SQLITE_UNAVAILABLE: [i32; 5] = [5, 6, 10, 13, 14];

pub type StoreResult<T> = Result<T, StoreError>;

pub type DynStore = Arc<dyn Store>;

/// Opens the backend `settings.url` names: `postgres://` or `postgresql://` for PostgreSQL,
/// `sqlite:PATH` for a SQLite file (created when absent). Connections are made when first
/// needed, so a database that is down at start-up delays work rather than failing the process.
pub fn open(settings: &crate::settings::DatabaseSettings) -> anyhow::Result<DynStore> {
    let scheme = settings
        .url
        .split_once(':')
        .map_or("", |(scheme, _)| scheme);
    match scheme {
        "postgres" | "postgresql" => Ok(Arc::new(PgStore::from_settings(settings)?)),
        "sqlite" => Ok(Arc::new(SqliteStore::from_settings(settings)?)),
        _ => anyhow::bail!(
            "DATABASE_URL: unsupported scheme '{scheme}': expected postgres://user@host/database \
             or sqlite:PATH"
        ),
    }
}

/// Everything a process may need from storage.
pub trait Store:
    KeyStore
    + ActionStore
    + ExecutionStore
    + WorkStore
    + OutboxStore
    + ScheduleStore
    + NoticeStore
    + SecretStore
    + AuditStore
    + DashboardStore
{
}

impl<T> Store for T where
    T: KeyStore
        + SecretStore
        + AuditStore
        + ActionStore
        + ExecutionStore
        + WorkStore
        + OutboxStore
        + ScheduleStore
        + NoticeStore
        + DashboardStore
{
}

/// Notices between processes that share a store. Best effort: a notice sent while a watcher is
/// disconnected is lost, so nothing may depend on one arriving (a worker's heartbeat finds a
/// cancelled execution no longer Running anyway; the notice only makes the stop prompt).
#[async_trait]
pub trait NoticeStore: Send + Sync + 'static {
    /// Calls `on_cancel` with each execution cancelled from now on, anywhere, until `stop`
    /// fires; reconnects by itself through outages.
    async fn watch_cancellations(
        &self,
        on_cancel: Box<dyn Fn(ExecutionId) + Send + Sync>,
        stop: tokio_util::sync::CancellationToken,
    );
}

#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Applies the embedded migrations; safe to call from many processes at once.
    async fn migrate(&self) -> StoreResult<()>;
    /// Cheap round trip, for readiness checks.
    async fn ping(&self) -> StoreResult<()>;

    /// A key of `tenant_id` (of one project only, with `project_id`); a `read_only` key may
    /// only read (GET).
    async fn create_api_key(
        &self,
        tenant_id: TenantId,
        project_id: Option<ProjectId>,
        name: Option<String>,
        read_only: bool,
        hash: TokenHash,
    ) -> StoreResult<ApiKey>;
    /// The key whose token hashes to `hash`, revoked or not.
    async fn find_api_key(&self, hash: TokenHash) -> StoreResult<Option<ApiKey>>;
    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>>;
    /// `false` when no such key exists; revoking twice keeps the first revocation time.
    async fn revoke_api_key(&self, key_id: KeyId) -> StoreResult<bool>;
}

/// A project's secrets and webhook signing secrets, stored sealed: sealing and opening, and
/// every decision about them, happen above (see [`crate::domain::secrets`] and
/// `runtime::secrets`); this only stores and selects.
#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// Creates the secret or replaces its value (keeping its creation time); `true` when it
    /// was created.
    async fn put_secret(
        &self,
        scope: Scope,
        name: &SecretName,
        sealed: Sealed,
    ) -> StoreResult<(bool, SecretInfo)>;
    /// The project's secrets by name.
    async fn list_secrets(&self, scope: Scope) -> StoreResult<Vec<SecretInfo>>;
    /// `false` when there was no such secret.
    async fn delete_secret(&self, scope: Scope, name: &SecretName) -> StoreResult<bool>;
    /// The project's secrets with their sealed values, for a step that uses them.
    async fn sealed_secrets(&self, scope: Scope) -> StoreResult<Vec<(SecretName, Sealed)>>;
    /// The project's signing secrets that have not expired by the database's clock, the
    /// current one first.
    async fn signing_secrets(&self, scope: Scope) -> StoreResult<Vec<StoredSigningSecret>>;
    /// Adds `sealed` as the project's current signing secret. `rotate`: the current one (if
    /// any) expires after this long; `None`: only when the project has none yet (a first use),
    /// else nothing is written. `false` when nothing was written (a first use raced another,
    /// or two rotations raced: the other one won).
    async fn add_signing_secret(
        &self,
        scope: Scope,
        sealed: Sealed,
        rotate: Option<Duration>,
    ) -> StoreResult<bool>;
    /// Up to `limit` sealed values, of every project, sealed under a key other than `key_id`.
    async fn sealed_under_other_keys(
        &self,
        key_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<SealedEntry>>;
    /// Replaces `entry`'s ciphertext with `sealed` if it is still the one `entry` holds;
    /// `false` when it changed (or went) meanwhile.
    async fn replace_sealed(&self, entry: &SealedEntry, sealed: Sealed) -> StoreResult<bool>;
}

/// The audit log: append and read, nothing else (the tables refuse changes too).
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    async fn append_audit(&self, entry: NewAuditEntry) -> StoreResult<AuditEntry>;
    /// Entries of `scope`'s project and of its whole tenant (project-less ones), newest first,
    /// at most `filter.limit`.
    async fn list_audit(&self, scope: Scope, filter: AuditFilter) -> StoreResult<Vec<AuditEntry>>;
}

#[async_trait]
pub trait ActionStore: Send + Sync + 'static {
    /// A page of the project's actions, oldest first.
    async fn list_actions(&self, scope: Scope, page: ActionPage) -> StoreResult<Vec<Action>>;
    /// How many actions the project has.
    async fn count_actions(&self, scope: Scope) -> StoreResult<i64>;
    async fn get_action(&self, scope: Scope, action_id: ActionId) -> StoreResult<Option<Action>>;
    async fn create_action(
        &self,
        scope: Scope,
        draft: ActionDraft,
        by: KeyId,
    ) -> StoreResult<Action>;
    /// `None` when the action does not exist in `scope`.
    async fn update_action(
        &self,
        scope: Scope,
        action_id: ActionId,
        patch: ActionPatch,
        by: KeyId,
    ) -> StoreResult<Option<Action>>;
    /// `false` when the action does not exist in `scope`. Its executions stay readable.
    async fn delete_action(&self, scope: Scope, action_id: ActionId) -> StoreResult<bool>;
}

#[async_trait]
pub trait ExecutionStore: Send + Sync + 'static {
    /// Records a Queued execution with a snapshot of the action's steps, and its outbox row,
    /// in one transaction. A live idempotency key returns the execution it first created.
    async fn create_execution(
        &self,
        scope: Scope,
        action_id: ActionId,
        request: NewExecution,
    ) -> StoreResult<ExecuteOutcome>;
    async fn get_execution(
        &self,
        scope: Scope,
        execution_id: ExecutionId,
    ) -> StoreResult<Option<ExecutionDetail>>;
    /// The executions `filter` selects, newest first.
    async fn list_executions(
        &self,
        scope: Scope,
        filter: ExecutionFilter,
    ) -> StoreResult<Vec<Execution>>;
    /// Ends a Queued or Running execution as Failed with notes "cancelled", at once, and tells
    /// the worker running it (if any) to stop.
    async fn cancel_execution(
        &self,
        scope: Scope,
        execution_id: ExecutionId,
    ) -> StoreResult<CancelOutcome>;
    /// Enabled actions of the project with an EventTrigger named `event_name`, by id.
    async fn event_subscribers(
        &self,
        scope: Scope,
        event_name: &EventName,
    ) -> StoreResult<Vec<ActionId>>;
    /// Creates an execution (trigger `event`, `input` as given) for every enabled action of
    /// the project with an EventTrigger named `event_name`. A repeated idempotency key returns
    /// the executions it first created; `created` names the new ones. The same for every
    /// backend: written here once.
    async fn raise_event(
        &self,
        scope: Scope,
        event_name: &EventName,
        input: Option<serde_json::Value>,
        idempotency_key: Option<String>,
    ) -> StoreResult<RaisedEvent> {
        let actions = self.event_subscribers(scope, event_name).await?;
        let mut executions = Vec::with_capacity(actions.len());
        let mut created = Vec::new();
        for action_id in actions {
            let request = NewExecution {
                idempotency_key: idempotency_key
                    .as_deref()
                    .map(|k| events::action_key(event_name, k)),
                ..NewExecution::new(TriggerKind::Event, input.clone())
            };
            match self.create_execution(scope, action_id, request).await? {
                ExecuteOutcome::Created(e) => {
                    created.push(e.action_execution_id);
                    executions.push(e);
                }
                ExecuteOutcome::Existing(e) => executions.push(e),
                // Disabled or deleted in the meantime.
                ExecuteOutcome::ActionNotFound | ExecuteOutcome::ActionDisabled => {}
            }
        }
        Ok(RaisedEvent {
            executions,
            created,
        })
    }
}

#[async_trait]
pub trait WorkStore: Send + Sync + 'static {
    /// Queued → Running, attempt + 1, with a lease for `worker`; the first step not completed
    /// by an earlier attempt is marked Running.
    async fn claim_execution(
        &self,
        scope: Scope,
        execution_id: ExecutionId,
        worker: &str,
        lease: Duration,
    ) -> StoreResult<ClaimOutcome>;
    /// Undoes a claim whose answer never arrived (the database went away between the claim's
    /// commit and its answer): Running → Queued with the attempt given back, only while
    /// `worker` (unique to that claim) still holds its lease. Nobody ran anything under that
    /// claim, so claiming again is not a re-run. `true` when undone.
    async fn undo_unanswered_claim(
        &self,
        scope: Scope,
        execution_id: ExecutionId,
        worker: &str,
    ) -> StoreResult<bool>;
    /// Extends the lease; `false` when the claim is no longer ours (cancelled, reaped, ended).
    async fn heartbeat(&self, fence: Fence, lease: Duration) -> StoreResult<bool>;
    /// Records a step's result and starts `next_step`; `false` when the claim is no longer
    /// ours. Repeating a write that was recorded answers `true` again (a retry after a commit
    /// whose answer was lost must not look like a lost claim). The claim started the first step; the last step's result goes with
    /// [`finish_execution`](Self::finish_execution).
    async fn finish_step(
        &self,
        fence: Fence,
        step_number: i32,
        result: StepResult,
        next_step: i32,
    ) -> StoreResult<bool>;
    /// Running → Completed / Failed, recording `last_step`'s result with it; other steps still
    /// running fail and those not reached are marked Skipped.
    async fn finish_execution(
        &self,
        fence: Fence,
        outcome: FinalOutcome,
        last_step: Option<FinalStep>,
    ) -> StoreResult<bool>;
    /// Ends a failed try of a step that will run again: records `result` on the step (which
    /// goes back to Pending, its retries + 1) and holds the execution Queued, with no lease and
    /// no queue message, for `wait` by the database's clock ([`release_due`](Self::release_due)
    /// then publishes it for any worker). No worker holds anything while it waits. `false` when
    /// the claim is no longer ours.
    async fn retry_step(
        &self,
        fence: Fence,
        step_number: i32,
        result: StepResult,
        wait: Duration,
    ) -> StoreResult<bool>;
    /// Running → Queued and back on the queue, for another worker to take at once.
    async fn release_execution(&self, fence: Fence) -> StoreResult<bool>;
    /// Puts every Running execution back on the queue at once, attempt unchanged (the next
    /// claim counts). Only for a process that knows it is the only worker of this store
    /// (standalone mode at start-up): every Running execution was then left by a process that
    /// no longer exists, and waiting out its lease would only delay it.
    async fn requeue_running(&self) -> StoreResult<u64>;
    /// Re-queues Running executions whose lease expired (or fails them once `max_attempts`
    /// claims were made or their deadline passed). Takes nothing while the database has been
    /// up for less than `uptime` (a restart: nobody could renew during it). Safe to run in
    /// many processes at once.
    async fn reap_expired(
        &self,
        max_attempts: i32,
        uptime: Duration,
        limit: i64,
    ) -> StoreResult<ReapReport>;
    /// Puts Queued executions that no worker took for `older_than` back in the outbox: a
    /// backstop for messages lost to the broker (duplicates are dropped by the claim). Held executions are
    /// not stale: they wait for [`release_due`](Self::release_due).
    async fn requeue_stale(&self, older_than: Duration, limit: i64) -> StoreResult<u64>;
    /// Releases up to `limit` held executions whose time has come (a delayed run's `runAt`, a
    /// retry's backoff), and as many waiting executions as their groups of a concurrency limit
    /// have free slots (oldest first): each gets its outbox row, in the same write, and is
    /// claimable from then on. Safe to run
    /// in many processes at once; answers how many it released.
    async fn release_due(&self, limit: i64) -> StoreResult<u64>;
    /// Deletes up to `limit` finished executions (with their steps) that ended more than their
    /// action's `retention_days` ago (`default_days` when it has none, or is deleted), oldest
    /// first; answers how many. Never touches a Queued or Running execution, and never waits
    /// for a row another transaction holds.
    async fn delete_expired(&self, default_days: i32, limit: i64) -> StoreResult<u64>;
}

#[async_trait]
pub trait ScheduleStore: Send + Sync + 'static {
    /// Fires the schedule triggers that are due by the database's clock (up to `limit`), with
    /// each trigger's catch-up policy; `grace` is how late a slot may be and still count as on
    /// time. Safe to run in many processes at once.
    async fn fire_due(&self, limit: i64, grace: Duration) -> StoreResult<FireReport>;
}

#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Leases up to `limit` unpublished rows for `lease` (rows leased by another relay are
    /// skipped, not waited for).
    async fn lease_outbox(&self, limit: i64, lease: Duration) -> StoreResult<Vec<OutboxItem>>;
    /// Removes published rows.
    async fn complete_outbox(&self, ids: &[i64]) -> StoreResult<()>;
    /// Returns rows that could not be published, to be retried after `retry_in`.
    async fn fail_outbox(&self, ids: &[i64], error: &str, retry_in: Duration) -> StoreResult<()>;
    /// Ends every lease at once. Only for a process that knows it is the only relay of this
    /// store (standalone mode at start-up): every lease then belongs to a process that is
    /// gone, and waiting it out would leave its executions unpublished for that long.
    async fn release_outbox_leases(&self) -> StoreResult<u64>;
}
