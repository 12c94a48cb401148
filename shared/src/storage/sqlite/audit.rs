//! The audit log: appended, listed, never changed.

use super::writer::Write;
use super::{SqliteStore, now};
use crate::domain::audit::{AuditEntry, NewAuditEntry};
use crate::domain::ids::{AuditId, Scope};
use crate::storage::rows::AuditRow;
use crate::storage::{AuditFilter, AuditStore, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, entry: NewAuditEntry) -> StoreResult<AuditEntry> {
        self.writer
            .write(move |conn| {
                Box::pin(async move {
                    let row: AuditRow = sqlx::query_as(
                        "INSERT INTO audit_log (audit_id, tenant_id, project_id, at, key_id, \
                           action, target_id, summary) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                         RETURNING audit_id, tenant_id, project_id, at, key_id, action, \
                           target_id, summary",
                    )
                    .bind(AuditId::new())
                    .bind(entry.tenant_id)
                    .bind(entry.project_id)
                    .bind(now())
                    .bind(entry.key_id)
                    .bind(entry.action.as_str())
                    .bind(&entry.target_id)
                    .bind(&entry.summary)
                    .fetch_one(conn)
                    .await?;
                    Ok(Write::Keep(row.into_entry()?))
                })
            })
            .await
    }

    async fn list_audit(&self, scope: Scope, filter: AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        let (after_at, after_id) = filter.after.map(|c| (c.at, c.id)).unzip();
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT audit_id, tenant_id, project_id, at, key_id, action, target_id, summary \
             FROM audit_log \
             WHERE tenant_id = $1 AND (project_id = $2 OR project_id IS NULL) \
               AND ($3 IS NULL OR target_id = $3) \
               AND ($4 IS NULL OR action = $4) \
               AND ($5 IS NULL OR at >= $5) \
               AND ($6 IS NULL OR at < $6) \
               AND ($7 IS NULL OR (at, audit_id) < ($7, $8)) \
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
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter().map(AuditRow::into_entry).collect()
    }
}
