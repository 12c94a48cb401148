//! What the web dashboard needs from storage beyond the API's: its sign-in sessions, the
//! projects a tenant-wide key can pick from, and execution counts for its chart. Sessions are
//! stored by the SHA-256 of their id only, as keys are by their token's.

use super::StoreResult;
use crate::domain::auth::TokenHash;
use crate::domain::ids::{ProjectId, Scope, TenantId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// A signed-in browser: the key it signed in with (by its token's hash, so a revoked key ends
/// its sessions at once) and the token its forms must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiSession {
    pub token_hash: TokenHash,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// Executions created in one time bucket with one status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusCount {
    /// The bucket's start, in seconds since the epoch.
    pub bucket: i64,
    pub status: String,
    pub count: i64,
}

#[async_trait]
pub trait DashboardStore: Send + Sync + 'static {
    /// Stores a session under the hash of its id, and drops expired ones.
    async fn create_ui_session(&self, id_hash: TokenHash, session: UiSession) -> StoreResult<()>;
    /// The session, unless it expired.
    async fn find_ui_session(&self, id_hash: TokenHash) -> StoreResult<Option<UiSession>>;
    async fn delete_ui_session(&self, id_hash: TokenHash) -> StoreResult<()>;
    /// The projects of `tenant_id` that hold actions, in id order (at most 1,000).
    async fn list_projects(&self, tenant_id: TenantId) -> StoreResult<Vec<ProjectId>>;
    /// Executions of `scope` created at or after `since`, counted per `bucket` (whole
    /// seconds, buckets aligned on the epoch) and status; empty buckets are absent.
    async fn execution_counts(
        &self,
        scope: Scope,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> StoreResult<Vec<StatusCount>>;
}
