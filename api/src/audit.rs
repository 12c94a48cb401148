//! Audit entries of the API's callers: a handler records its change once the change is made
//! and only then (an idempotent repeat that changed nothing records nothing), through
//! [`record`] (see `actuate_shared::audit` for what happens when it cannot be stored). An
//! execution's creation is the exception: its entry goes with the execution into the store's
//! statement ([`Caller::audit_execution`]), on the hot path at no commit of its own.

use crate::extract::Caller;
pub use actuate_shared::audit::record;
use actuate_shared::domain::audit::{AuditAction, ExecutionAudit, NewAuditEntry};

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

    /// The entry of an execution this caller creates, written with it by the store.
    pub fn audit_execution(&self, action: AuditAction, summary: impl AsRef<str>) -> ExecutionAudit {
        ExecutionAudit::new(Some(self.key_id), action, summary)
    }
}
