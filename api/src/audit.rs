//! Recording changes in the audit log. A handler records its change once the change is made
//! and only then (an idempotent repeat that changed nothing records nothing). The record must
//! not fail the answer: the change stands, and a client told "error" would repeat it. So a
//! record the database does not take is retried briefly while the database is unreachable,
//! and otherwise written to the process log whole (`audit entry not stored`) and counted.

use crate::extract::Caller;
use actuate_shared::domain::audit::{AuditAction, NewAuditEntry};
use actuate_shared::runtime::Backoff;
use actuate_shared::storage::AuditStore;
use std::time::Duration;

impl Caller {
    /// An entry for a change this caller made in its project.
    pub fn audit(
        &self,
        action: AuditAction,
        target_id: impl Into<String>,
        summary: impl AsRef<str>,
    ) -> NewAuditEntry {
        NewAuditEntry::new(
            self.scope.tenant_id,
            Some(self.scope.project_id),
            Some(self.key_id),
            action,
            target_id,
            summary,
        )
    }
}

/// Appends `entry` (see the module's comment for what happens when it cannot be).
pub async fn record(store: &dyn AuditStore, entry: NewAuditEntry) {
    const TRIES: u32 = 4;
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    for attempt in 1..=TRIES {
        match store.append_audit(entry.clone()).await {
            Ok(_) => return,
            Err(e) if e.is_unavailable() && attempt < TRIES => {
                tokio::time::sleep(backoff.next_delay()).await;
            }
            Err(e) => {
                metrics::counter!("actuate_audit_write_failures_total").increment(1);
                tracing::error!(
                    error = %e,
                    tenant_id = %entry.tenant_id,
                    project_id = ?entry.project_id,
                    key_id = ?entry.key_id,
                    action = %entry.action,
                    target_id = %entry.target_id,
                    summary = %entry.summary,
                    "audit entry not stored"
                );
                return;
            }
        }
    }
}
