//! The audit log: one entry per change made through the API or an operator command, with who
//! made it (the API key, or none for an operator at a terminal), where (tenant, project), on
//! what (the target's kind and id) and a short summary. Entries are only ever appended: no
//! route changes or removes one, and the database refuses updates and deletes of them.

use crate::domain::ids::{AuditId, KeyId, ProjectId, TenantId};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

macro_rules! audit_actions {
    ($($variant:ident => $name:literal, $target:literal;)+) => {
        /// What a change did, as `<target>.<verb>`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $($variant,)+
        }

        impl AuditAction {
            pub const ALL: &[AuditAction] = &[$(AuditAction::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name,)+
                }
            }

            /// The kind of thing the action changes.
            pub fn target_type(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $target,)+
                }
            }
        }
    };
}

audit_actions! {
    ActionCreate => "action.create", "action";
    ActionUpdate => "action.update", "action";
    ActionDelete => "action.delete", "action";
    ActionEnable => "action.enable", "action";
    ActionDisable => "action.disable", "action";
    Execute => "execution.create", "execution";
    Cancel => "execution.cancel", "execution";
    Rerun => "execution.rerun", "execution";
    EventRaise => "event.raise", "event";
    KeyCreate => "key.create", "key";
    KeyRevoke => "key.revoke", "key";
    SecretSet => "secret.set", "secret";
    SecretDelete => "secret.delete", "secret";
    WebhookSecretCreate => "webhooksecret.create", "webhooksecret";
    WebhookSecretRotate => "webhooksecret.rotate", "webhooksecret";
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditAction {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        AuditAction::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
                format!("'{s}' is not one of {}", names.join(", "))
            })
    }
}

impl Serialize for AuditAction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A change to record.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAuditEntry {
    pub tenant_id: TenantId,
    /// `None` for a change to the whole tenant (a key of every project).
    pub project_id: Option<ProjectId>,
    /// The API key that made the change; `None` for an operator command.
    pub key_id: Option<KeyId>,
    pub action: AuditAction,
    pub target_id: String,
    pub summary: String,
}

/// The most of a summary kept: a line, not a document.
pub const SUMMARY_MAX_CHARS: usize = 500;

impl NewAuditEntry {
    /// `summary` is cut to [`SUMMARY_MAX_CHARS`] (with `…`) and loses control characters, so
    /// a caller's text can never forge a line of it.
    pub fn new(
        tenant_id: TenantId,
        project_id: Option<ProjectId>,
        key_id: Option<KeyId>,
        action: AuditAction,
        target_id: impl Into<String>,
        summary: impl AsRef<str>,
    ) -> Self {
        Self {
            tenant_id,
            project_id,
            key_id,
            action,
            target_id: target_id.into(),
            summary: clean_summary(summary.as_ref()),
        }
    }
}

/// The entry of an execution's creation, written by the store in the statement that creates
/// the execution (its target: the new execution's id; its tenant and project: the
/// execution's), so an execution and its entry exist together or not at all, at no commit of
/// their own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionAudit {
    pub key_id: Option<KeyId>,
    pub action: AuditAction,
    pub summary: String,
}

impl ExecutionAudit {
    /// `summary` as in [`NewAuditEntry::new`].
    pub fn new(key_id: Option<KeyId>, action: AuditAction, summary: impl AsRef<str>) -> Self {
        Self {
            key_id,
            action,
            summary: clean_summary(summary.as_ref()),
        }
    }
}

/// `summary` without control characters, cut to [`SUMMARY_MAX_CHARS`] (with `…`).
fn clean_summary(summary: &str) -> String {
    let clean: String = summary
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() > SUMMARY_MAX_CHARS {
        let mut cut: String = clean.chars().take(SUMMARY_MAX_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        clean
    }
}

/// An entry as stored and shown.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub audit_id: AuditId,
    pub at: DateTime<Utc>,
    /// The API key that made the change; null for an operator command.
    pub key_id: Option<KeyId>,
    pub tenant_id: TenantId,
    /// Null for a change to the whole tenant.
    pub project_id: Option<ProjectId>,
    /// `<target>.<verb>`, e.g. `action.update`.
    #[schema(value_type = String, example = "action.update")]
    pub action: AuditAction,
    /// The kind of thing changed: `action`, `execution`, `event`, `key`, `secret`,
    /// `webhooksecret`.
    pub target_type: String,
    /// Its id (or name, for secrets and events).
    pub target_id: String,
    pub summary: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_and_unknown_ones_are_named() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(*action));
            assert!(action.as_str().starts_with(action.target_type()));
        }
        let err = "action.explode".parse::<AuditAction>().unwrap_err();
        assert!(err.contains("action.create"), "{err}");
    }

    #[test]
    fn summaries_are_one_bounded_line() {
        let entry = NewAuditEntry::new(
            TenantId::new(),
            None,
            None,
            AuditAction::ActionUpdate,
            "x",
            format!("a\nb\r{}", "z".repeat(600)),
        );
        assert!(entry.summary.starts_with("a b z"));
        assert_eq!(entry.summary.chars().count(), SUMMARY_MAX_CHARS);
        assert!(entry.summary.ends_with('…'));
    }
}
