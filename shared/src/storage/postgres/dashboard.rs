//! The dashboard's sessions, project list and chart counts (see `storage::dashboard`).

use super::{PgStore, now};
use crate::domain::auth::TokenHash;
use crate::domain::ids::{ProjectId, Scope, TenantId};
use crate::storage::{DashboardStore, StatusCount, StoreResult, UiSession};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;

#[async_trait]
impl DashboardStore for PgStore {
    async fn create_ui_session(&self, id_hash: TokenHash, session: UiSession) -> StoreResult<()> {
        let at = now();
        sqlx::query("DELETE FROM ui_sessions WHERE expires_at < $1")
            .bind(at)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO ui_sessions (session_hash, token_hash, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id_hash.0[..])
        .bind(&session.token_hash.0[..])
        .bind(&session.csrf)
        .bind(at)
        .bind(session.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_ui_session(&self, id_hash: TokenHash) -> StoreResult<Option<UiSession>> {
        let row: Option<(Vec<u8>, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT token_hash, csrf, expires_at FROM ui_sessions \
             WHERE session_hash = $1 AND expires_at > $2",
        )
        .bind(&id_hash.0[..])
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(super::super::rows::ui_session))
    }

    async fn delete_ui_session(&self, id_hash: TokenHash) -> StoreResult<()> {
        sqlx::query("DELETE FROM ui_sessions WHERE session_hash = $1")
            .bind(&id_hash.0[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn list_projects(&self, tenant_id: TenantId) -> StoreResult<Vec<ProjectId>> {
        let rows: Vec<(ProjectId,)> = sqlx::query_as(
            "SELECT DISTINCT project_id FROM actions WHERE tenant_id = $1 \
             ORDER BY project_id LIMIT 1000",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(p,)| p).collect())
    }

    async fn execution_counts(
        &self,
        scope: Scope,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> StoreResult<Vec<StatusCount>> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT (floor(extract(epoch FROM date_started) / $4) * $4)::bigint AS bucket, \
               status, count(*) \
             FROM executions \
             WHERE tenant_id = $1 AND project_id = $2 AND date_started >= $3 \
             GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(since)
        .bind(bucket.as_secs().max(1) as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(super::super::rows::status_counts(rows))
    }
}
