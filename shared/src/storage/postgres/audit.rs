//! The audit log: appended, listed, never changed. Appends go through a [`Batcher`] like
//! executes: every execute records an entry, and one commit per entry would double the
//! commits of the hot path.

use super::batch::BatchWrite;
use super::{PgStore, now};
use crate::domain::audit::{AuditEntry, NewAuditEntry};
use crate::domain::ids::{AuditId, KeyId, ProjectId, Scope, TenantId};
use crate::storage::rows::AuditRow;
use crate::storage::{AuditFilter, AuditStore, StoreResult};
use async_trait::async_trait;
use sqlx::postgres::PgPool;

/// Audit appends, written together.
pub(super) struct Appends;

#[async_trait]
impl BatchWrite for Appends {
    /// The entry as it will be stored (id and time given).
    type Item = AuditEntry;
    type Answer = AuditEntry;
    const KIND: &'static str = "audit";

    async fn write(pool: &PgPool, items: &[AuditEntry]) -> StoreResult<Vec<AuditEntry>> {
        let column = |f: fn(&AuditEntry) -> String| items.iter().map(f).collect::<Vec<_>>();
        sqlx::query(
            "INSERT INTO audit_log (audit_id, tenant_id, project_id, at, key_id, action, \
               target_id, summary) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], \
               $5::uuid[], $6::text[], $7::text[], $8::text[])",
        )
        .bind(items.iter().map(|e| e.audit_id).collect::<Vec<AuditId>>())
        .bind(items.iter().map(|e| e.tenant_id).collect::<Vec<TenantId>>())
        .bind(
            items
                .iter()
                .map(|e| e.project_id)
                .collect::<Vec<Option<ProjectId>>>(),
        )
        .bind(items.iter().map(|e| e.at).collect::<Vec<_>>())
        .bind(
            items
                .iter()
                .map(|e| e.key_id)
                .collect::<Vec<Option<KeyId>>>(),
        )
        .bind(column(|e| e.action.as_str().to_string()))
        .bind(column(|e| e.target_id.clone()))
        .bind(column(|e| e.summary.clone()))
        .execute(pool)
        .await?;
        Ok(items.to_vec())
    }
}

#[async_trait]
impl AuditStore for PgStore {
    async fn append_audit(&self, entry: NewAuditEntry) -> StoreResult<AuditEntry> {
        let entry = AuditEntry {
            audit_id: AuditId::new(),
            at: now(),
            key_id: entry.key_id,
            tenant_id: entry.tenant_id,
            project_id: entry.project_id,
            target_type: entry.action.target_type().to_string(),
            action: entry.action,
            target_id: entry.target_id,
            summary: entry.summary,
        };
        self.batchers.audit.submit(entry).await
    }

    async fn list_audit(&self, scope: Scope, filter: AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        let (after_at, after_id) = filter.after.map(|c| (c.at, c.id)).unzip();
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT audit_id, tenant_id, project_id, at, key_id, action, target_id, summary \
             FROM audit_log \
             WHERE tenant_id = $1 AND (project_id = $2 OR project_id IS NULL) \
               AND ($3::text IS NULL OR target_id = $3) \
               AND ($4::text IS NULL OR action = $4) \
               AND ($5::timestamptz IS NULL OR at >= $5) \
               AND ($6::timestamptz IS NULL OR at < $6) \
               AND ($7::timestamptz IS NULL OR (at, audit_id) < ($7, $8)) \
             ORDER BY at DESC, audit_id DESC LIMIT $9",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(filter.target_id)
        .bind(filter.action.map(|a| a.as_str()))
        .bind(filter.since)
        .bind(filter.until)
        .bind(after_at)
        .bind(after_id)
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AuditRow::into_entry).collect()
    }
}
