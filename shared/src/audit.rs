//! Recording changes in the audit log, for every process that makes one (the API's handlers,
//! operator commands, and a worker that makes a project's signing secret on first use). A
//! change is recorded once it is made, and only then. The record must not fail what it
//! records: the change stands (a client told "error" would repeat it). So a record the database
//! does not take is retried briefly while the database is unreachable, and otherwise written to
//! the process log whole (`audit entry not stored`) and counted.

use crate::domain::audit::NewAuditEntry;
use crate::runtime::Backoff;
use crate::storage::AuditStore;
use std::time::Duration;

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
