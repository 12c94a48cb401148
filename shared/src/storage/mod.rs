//! Storage behind one interface, used by the API and the worker alike. PostgreSQL is the
//! backend for deployments; an embedded one (SQLite) is planned for standalone mode, and the
//! same integration tests are meant to run against every backend. Every call takes a
//! [`Scope`], and every implementation must filter every query on it.

mod postgres;

pub use postgres::PgStore;

use crate::auth::{ApiKey, TokenHash};
use crate::draft::{ActionDraft, ActionPatch};
use crate::ids::{ActionId, KeyId, ProjectId, Scope, StepId, TenantId, TriggerId};
use crate::model::Action;
use async_trait::async_trait;
use std::sync::Arc;

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

pub type StoreResult<T> = Result<T, StoreError>;

pub type DynStore = Arc<dyn Store>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies the embedded migrations; safe to call from many processes at once.
    async fn migrate(&self) -> StoreResult<()>;
    /// Cheap round trip, for readiness checks.
    async fn ping(&self) -> StoreResult<()>;

    async fn create_api_key(
        &self,
        tenant_id: TenantId,
        project_id: Option<ProjectId>,
        name: Option<String>,
        hash: TokenHash,
    ) -> StoreResult<ApiKey>;
    /// The key whose token hashes to `hash`, revoked or not.
    async fn find_api_key(&self, hash: TokenHash) -> StoreResult<Option<ApiKey>>;
    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>>;
    /// `false` when no such key exists; revoking twice keeps the first revocation time.
    async fn revoke_api_key(&self, key_id: KeyId) -> StoreResult<bool>;

    async fn list_actions(&self, scope: Scope) -> StoreResult<Vec<Action>>;
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
    /// `false` when the action does not exist in `scope`.
    async fn delete_action(&self, scope: Scope, action_id: ActionId) -> StoreResult<bool>;
}
