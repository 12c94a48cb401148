//! The message a relay publishes and a worker consumes: ids, and the type of the step a claim
//! would start. Step settings, inputs and secrets stay in the database, so the broker never
//! holds anything sensitive.

use crate::domain::ids::{ExecutionId, ProjectId, Scope, TenantId};
use crate::domain::model::StepType;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteMessage {
    pub tenant_id: TenantId,
    pub project_id: ProjectId,
    pub execution_id: ExecutionId,
    /// The type of the step a claim would start (`Python`, ...): a worker waits for room in its
    /// Python runners before claiming, so waiting is not charged as an attempt. A hint only: kept as
    /// text so that a type this worker does not know never makes the message unreadable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step_type: Option<String>,
    /// The W3C `traceparent` of the request that created the execution. Not in the body: it
    /// travels as the message's `traceparent` header, as tracing systems expect.
    #[serde(skip)]
    pub trace_parent: Option<String>,
}

impl ExecuteMessage {
    pub fn scope(&self) -> Scope {
        Scope {
            tenant_id: self.tenant_id,
            project_id: self.project_id,
        }
    }

    /// [`next_step_type`](Self::next_step_type) when it names a known step type.
    pub fn next_step(&self) -> Option<StepType> {
        self.next_step_type.as_deref()?.parse().ok()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("ids always serialise")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
