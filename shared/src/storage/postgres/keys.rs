//! API keys: stored by the SHA-256 of their token only.

use super::{PgStore, now};
use crate::domain::auth::{ApiKey, TokenHash};
use crate::domain::ids::{KeyId, ProjectId, TenantId};
use crate::storage::rows::KeyRow;
use crate::storage::{KeyStore, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl KeyStore for PgStore {
    async fn migrate(&self) -> StoreResult<()> {
        super::MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_api_key(
        &self,
        tenant_id: TenantId,
        project_id: Option<ProjectId>,
        name: Option<String>,
        read_only: bool,
        hash: TokenHash,
    ) -> StoreResult<ApiKey> {
        let row: KeyRow = sqlx::query_as(
            "INSERT INTO api_keys (key_id, tenant_id, project_id, name, token_hash, created_at, \
               read_only) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING key_id, tenant_id, project_id, name, created_at, revoked_at, token_hash, \
             read_only",
        )
        .bind(KeyId::new())
        .bind(tenant_id)
        .bind(project_id)
        .bind(name)
        .bind(&hash.0[..])
        .bind(now())
        .bind(read_only)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.into())
    }

    async fn find_api_key(&self, hash: TokenHash) -> StoreResult<Option<ApiKey>> {
        let row: Option<KeyRow> = sqlx::query_as(
            "SELECT key_id, tenant_id, project_id, name, created_at, revoked_at, token_hash, \
             read_only \
             FROM api_keys WHERE token_hash = $1",
        )
        .bind(&hash.0[..])
        .fetch_optional(&self.pool)
        .await?;
        // The index lookup already matched; the constant-time comparison keeps the final
        // decision free of data-dependent timing should the lookup ever become a prefix scan.
        Ok(row.and_then(|r| hash.matches(&r.token_hash).then(|| r.into())))
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        let rows: Vec<KeyRow> = sqlx::query_as(
            "SELECT key_id, tenant_id, project_id, name, created_at, revoked_at, token_hash, \
             read_only \
             FROM api_keys ORDER BY created_at, key_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn revoke_api_key(&self, key_id: KeyId) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE key_id = $1",
        )
        .bind(key_id)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
