//! The message a relay publishes and a worker consumes: ids only. Step settings, inputs and
//! secrets stay in the database, so the broker never holds anything sensitive.

use crate::ids::{ExecutionId, ProjectId, Scope, TenantId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteMessage {
    pub tenant_id: TenantId,
    pub project_id: ProjectId,
    pub execution_id: ExecutionId,
}

impl ExecuteMessage {
    pub fn scope(&self) -> Scope {
        Scope {
            tenant_id: self.tenant_id,
            project_id: self.project_id,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("ids always serialise")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
