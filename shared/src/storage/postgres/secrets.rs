//! A project's secrets and webhook signing secrets, stored sealed (never in clear).

use super::{PgStore, now};
use crate::crypto::Sealed;
use crate::domain::ids::Scope;
use crate::domain::secrets::SecretName;
use crate::storage::rows::{SealedEntryRow, SealedSecretRow, SecretRow, SigningSecretRow};
use crate::storage::{
    SealedEntry, SealedTarget, SecretInfo, SecretStore, StoreResult, StoredSigningSecret,
};
use async_trait::async_trait;
use std::time::Duration;

#[async_trait]
impl SecretStore for PgStore {
    async fn put_secret(
        &self,
        scope: Scope,
        name: &SecretName,
        sealed: Sealed,
    ) -> StoreResult<(bool, SecretInfo)> {
        // `xmax = 0` only for a row this statement inserted (an update leaves its own xid).
        let (created, name, created_at, updated_at): (bool, String, _, _) = sqlx::query_as(
            "INSERT INTO secrets (tenant_id, project_id, name, key_id, ciphertext, created_at, \
               updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (tenant_id, project_id, name) DO UPDATE \
               SET key_id = EXCLUDED.key_id, ciphertext = EXCLUDED.ciphertext, \
                   updated_at = EXCLUDED.updated_at \
             RETURNING (xmax = 0), name, created_at, updated_at",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(name.as_str())
        .bind(&sealed.key_id)
        .bind(&sealed.bytes)
        .bind(now())
        .fetch_one(&self.pool)
        .await?;
        let row = SecretRow {
            name,
            created_at,
            updated_at,
        };
        Ok((created, row.into_info()?))
    }

    async fn list_secrets(&self, scope: Scope) -> StoreResult<Vec<SecretInfo>> {
        let rows: Vec<SecretRow> = sqlx::query_as(
            "SELECT name, created_at, updated_at FROM secrets \
             WHERE tenant_id = $1 AND project_id = $2 ORDER BY name",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(SecretRow::into_info).collect()
    }

    async fn delete_secret(&self, scope: Scope, name: &SecretName) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM secrets WHERE tenant_id = $1 AND project_id = $2 AND name = $3",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(name.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn sealed_secrets(&self, scope: Scope) -> StoreResult<Vec<(SecretName, Sealed)>> {
        let rows: Vec<SealedSecretRow> = sqlx::query_as(
            "SELECT name, key_id, ciphertext FROM secrets \
             WHERE tenant_id = $1 AND project_id = $2 ORDER BY name",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(SealedSecretRow::into_pair).collect()
    }

    async fn signing_secrets(&self, scope: Scope) -> StoreResult<Vec<StoredSigningSecret>> {
        let rows: Vec<SigningSecretRow> = sqlx::query_as(
            "SELECT key_id, ciphertext, created_at, expires_at FROM webhook_signing_secrets \
             WHERE tenant_id = $1 AND project_id = $2 \
               AND (expires_at IS NULL OR expires_at > now()) \
             ORDER BY expires_at IS NOT NULL, created_at DESC",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn add_signing_secret(
        &self,
        scope: Scope,
        sealed: Sealed,
        rotate: Option<Duration>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        if let Some(overlap) = rotate {
            // Expired secrets sign nothing any more: they go when the next rotation comes.
            sqlx::query(
                "DELETE FROM webhook_signing_secrets \
                 WHERE tenant_id = $1 AND project_id = $2 AND expires_at <= now()",
            )
            .bind(scope.tenant_id)
            .bind(scope.project_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE webhook_signing_secrets \
                 SET expires_at = now() + make_interval(secs => $3) \
                 WHERE tenant_id = $1 AND project_id = $2 AND expires_at IS NULL",
            )
            .bind(scope.tenant_id)
            .bind(scope.project_id)
            .bind(overlap.as_secs_f64())
            .execute(&mut *tx)
            .await?;
        }
        // A concurrent first use (or rotation) that committed a current secret first makes
        // this insert a no-op: the partial unique index allows one current secret.
        let done = sqlx::query(
            "INSERT INTO webhook_signing_secrets (secret_id, tenant_id, project_id, key_id, \
               ciphertext, created_at) VALUES ($1, $2, $3, $4, $5, now()) \
             ON CONFLICT DO NOTHING",
        )
        .bind(uuid::Uuid::new_v4())
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(&sealed.key_id)
        .bind(&sealed.bytes)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            tx.commit().await?;
            Ok(true)
        } else {
            tx.rollback().await?;
            Ok(false)
        }
    }

    async fn sealed_under_other_keys(
        &self,
        key_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<SealedEntry>> {
        let rows: Vec<SealedEntryRow> = sqlx::query_as(
            "(SELECT tenant_id, project_id, name, NULL::uuid AS secret_id, key_id, ciphertext \
              FROM secrets WHERE key_id <> $1) \
             UNION ALL \
             (SELECT tenant_id, project_id, NULL::text, secret_id, key_id, ciphertext \
              FROM webhook_signing_secrets WHERE key_id <> $1) \
             LIMIT $2",
        )
        .bind(key_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(SealedEntryRow::into_entry).collect()
    }

    async fn replace_sealed(&self, entry: &SealedEntry, sealed: Sealed) -> StoreResult<bool> {
        let done = match &entry.target {
            SealedTarget::Secret(name) => sqlx::query(
                "UPDATE secrets SET key_id = $4, ciphertext = $5 \
                     WHERE tenant_id = $1 AND project_id = $2 AND name = $3 \
                       AND key_id = $6 AND ciphertext = $7",
            )
            .bind(entry.scope.tenant_id)
            .bind(entry.scope.project_id)
            .bind(name.as_str()),
            SealedTarget::SigningSecret(id) => sqlx::query(
                "UPDATE webhook_signing_secrets SET key_id = $4, ciphertext = $5 \
                 WHERE tenant_id = $1 AND project_id = $2 AND secret_id = $3 \
                   AND key_id = $6 AND ciphertext = $7",
            )
            .bind(entry.scope.tenant_id)
            .bind(entry.scope.project_id)
            .bind(*id),
        }
        .bind(&sealed.key_id)
        .bind(&sealed.bytes)
        .bind(&entry.sealed.key_id)
        .bind(&entry.sealed.bytes)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
