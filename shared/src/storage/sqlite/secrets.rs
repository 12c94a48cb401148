//! A project's secrets and webhook signing secrets, stored sealed (never in clear).

use super::writer::Write;
use super::{SqliteStore, after, now};
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
impl SecretStore for SqliteStore {
    async fn put_secret(
        &self,
        scope: Scope,
        name: &SecretName,
        sealed: Sealed,
    ) -> StoreResult<(bool, SecretInfo)> {
        let name = name.as_str().to_string();
        self.writer
            .write(move |conn| {
                Box::pin(async move {
                    // The one writer runs this alone: nothing comes between the two statements.
                    let (existed,): (bool,) = sqlx::query_as(
                        "SELECT EXISTS (SELECT 1 FROM secrets \
                         WHERE tenant_id = $1 AND project_id = $2 AND name = $3)",
                    )
                    .bind(scope.tenant_id)
                    .bind(scope.project_id)
                    .bind(&name)
                    .fetch_one(&mut *conn)
                    .await?;
                    let row: SecretRow = sqlx::query_as(
                        "INSERT INTO secrets (tenant_id, project_id, name, key_id, ciphertext, \
                           created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
                         ON CONFLICT (tenant_id, project_id, name) DO UPDATE \
                           SET key_id = excluded.key_id, ciphertext = excluded.ciphertext, \
                               updated_at = excluded.updated_at \
                         RETURNING name, created_at, updated_at",
                    )
                    .bind(scope.tenant_id)
                    .bind(scope.project_id)
                    .bind(&name)
                    .bind(&sealed.key_id)
                    .bind(&sealed.bytes)
                    .bind(now())
                    .fetch_one(&mut *conn)
                    .await?;
                    Ok(Write::Keep((!existed, row.into_info()?)))
                })
            })
            .await
    }

    async fn list_secrets(&self, scope: Scope) -> StoreResult<Vec<SecretInfo>> {
        let rows: Vec<SecretRow> = sqlx::query_as(
            "SELECT name, created_at, updated_at FROM secrets \
             WHERE tenant_id = $1 AND project_id = $2 ORDER BY name",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter().map(SecretRow::into_info).collect()
    }

    async fn delete_secret(&self, scope: Scope, name: &SecretName) -> StoreResult<bool> {
        let name = name.as_str().to_string();
        self.writer
            .write(move |conn| {
                Box::pin(async move {
                    let done = sqlx::query(
                        "DELETE FROM secrets \
                         WHERE tenant_id = $1 AND project_id = $2 AND name = $3",
                    )
                    .bind(scope.tenant_id)
                    .bind(scope.project_id)
                    .bind(&name)
                    .execute(conn)
                    .await?;
                    Ok(Write::Keep(done.rows_affected() == 1))
                })
            })
            .await
    }

    async fn sealed_secrets(&self, scope: Scope) -> StoreResult<Vec<(SecretName, Sealed)>> {
        let rows: Vec<SealedSecretRow> = sqlx::query_as(
            "SELECT name, key_id, ciphertext FROM secrets \
             WHERE tenant_id = $1 AND project_id = $2 ORDER BY name",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter().map(SealedSecretRow::into_pair).collect()
    }

    async fn signing_secrets(&self, scope: Scope) -> StoreResult<Vec<StoredSigningSecret>> {
        let rows: Vec<SigningSecretRow> = sqlx::query_as(
            "SELECT key_id, ciphertext, created_at, expires_at FROM webhook_signing_secrets \
             WHERE tenant_id = $1 AND project_id = $2 \
               AND (expires_at IS NULL OR expires_at > $3) \
             ORDER BY expires_at IS NOT NULL, created_at DESC",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(now())
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn add_signing_secret(
        &self,
        scope: Scope,
        sealed: Sealed,
        rotate: Option<Duration>,
    ) -> StoreResult<bool> {
        self.writer
            .write(move |conn| {
                Box::pin(async move {
                    let at = now();
                    if let Some(overlap) = rotate {
                        // Expired secrets sign nothing any more: they go at the next rotation.
                        sqlx::query(
                            "DELETE FROM webhook_signing_secrets \
                             WHERE tenant_id = $1 AND project_id = $2 AND expires_at <= $3",
                        )
                        .bind(scope.tenant_id)
                        .bind(scope.project_id)
                        .bind(at)
                        .execute(&mut *conn)
                        .await?;
                        sqlx::query(
                            "UPDATE webhook_signing_secrets SET expires_at = $3 \
                             WHERE tenant_id = $1 AND project_id = $2 AND expires_at IS NULL",
                        )
                        .bind(scope.tenant_id)
                        .bind(scope.project_id)
                        .bind(after(at, overlap))
                        .execute(&mut *conn)
                        .await?;
                    }
                    let done = sqlx::query(
                        "INSERT INTO webhook_signing_secrets (secret_id, tenant_id, project_id, \
                           key_id, ciphertext, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(uuid::Uuid::new_v4())
                    .bind(scope.tenant_id)
                    .bind(scope.project_id)
                    .bind(&sealed.key_id)
                    .bind(&sealed.bytes)
                    .bind(at)
                    .execute(&mut *conn)
                    .await?;
                    Ok(if done.rows_affected() == 1 {
                        Write::Keep(true)
                    } else {
                        Write::Discard(false)
                    })
                })
            })
            .await
    }

    async fn sealed_under_other_keys(
        &self,
        key_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<SealedEntry>> {
        let rows: Vec<SealedEntryRow> = sqlx::query_as(
            "SELECT tenant_id, project_id, name, NULL AS secret_id, key_id, ciphertext \
             FROM secrets WHERE key_id <> $1 \
             UNION ALL \
             SELECT tenant_id, project_id, NULL, secret_id, key_id, ciphertext \
             FROM webhook_signing_secrets WHERE key_id <> $1 \
             LIMIT $2",
        )
        .bind(key_id)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter().map(SealedEntryRow::into_entry).collect()
    }

    async fn replace_sealed(&self, entry: &SealedEntry, sealed: Sealed) -> StoreResult<bool> {
        let entry = entry.clone();
        self.writer
            .write(move |conn| {
                Box::pin(async move {
                    let done = match &entry.target {
                        SealedTarget::Secret(name) => sqlx::query(
                            "UPDATE secrets SET key_id = $4, ciphertext = $5 \
                             WHERE tenant_id = $1 AND project_id = $2 AND name = $3 \
                               AND key_id = $6 AND ciphertext = $7",
                        )
                        .bind(entry.scope.tenant_id)
                        .bind(entry.scope.project_id)
                        .bind(name.as_str().to_string()),
                        SealedTarget::SigningSecret(id) => sqlx::query(
                            "UPDATE webhook_signing_secrets SET key_id = $4, ciphertext = $5 \
                             WHERE tenant_id = $1 AND project_id = $2 AND secret_id = $3 \
                               AND key_id = $6 AND ciphertext = $7",
                        )
                        .bind(entry.scope.tenant_id)
                        .bind(entry.scope.project_id)
                        .bind(*id),
                    }
                    .bind(sealed.key_id.clone())
                    .bind(sealed.bytes.clone())
                    .bind(entry.sealed.key_id.clone())
                    .bind(entry.sealed.bytes.clone())
                    .execute(conn)
                    .await?;
                    Ok(Write::Keep(done.rows_affected() == 1))
                })
            })
            .await
    }
}
