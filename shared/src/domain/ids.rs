//! Typed identifiers: one newtype per kind of id, so a `StepId` can never be passed where an
//! `ActionId` is expected. All ids are UUIDs printed lower-case and hyphenated.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            sqlx::Type, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }
    };
}

id_type!(
    /// A tenant: the outermost isolation boundary. Every row is keyed by it.
    TenantId
);
id_type!(
    /// A project inside a tenant.
    ProjectId
);
id_type!(
    /// An action: an ordered list of steps with optional triggers.
    ActionId
);
id_type!(
    /// One step of an action.
    StepId
);
id_type!(
    /// One trigger of an action.
    TriggerId
);
id_type!(
    /// One execution of an action (`actionExecutionId` on the wire).
    ExecutionId
);
id_type!(
    /// An API key; recorded as `createdBy` / `modifiedBy` on what it changes.
    KeyId
);
id_type!(
    /// One entry of the audit log.
    AuditId
);

/// The tenant and project every stored row belongs to. Every storage call takes one, and every
/// query filters on both, so a caller can never reach another tenant's rows by guessing ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    pub tenant_id: TenantId,
    pub project_id: ProjectId,
}
