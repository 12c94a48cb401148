//! Rows as every backend reads them, and how they become the model. The derived `FromRow`
//! works for any sqlx database, so each backend writes its own SQL but selects these columns
//! under these names, and the mapping to the model (and the check that stored enums still
//! parse) is written once.

use super::{NewExecution, OutboxItem, StoreError, StoreResult};
use crate::crypto::Sealed;
use crate::domain::audit::ExecutionAudit;
use crate::domain::auth::ApiKey;
use crate::domain::ids::{
    ActionId, ExecutionId, KeyId, ProjectId, Scope, StepId, TenantId, TriggerId,
};
use crate::domain::model::{
    Action, Execution, ExecutionDetail, ExecutionStep, Step, Trigger, TriggerKind,
};
use crate::domain::retry::{self, RetryPolicy};
use crate::domain::secrets::SecretName;
use crate::message::ExecuteMessage;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::FromRow;
use std::collections::HashMap;

/// A stored enum that no longer parses means the table was written by something else; fail
/// loudly rather than invent a value.
pub(super) fn decode<T: std::str::FromStr<Err = String>>(
    column: &str,
    value: &str,
) -> StoreResult<T> {
    value
        .parse()
        .map_err(|e| StoreError::Database(sqlx::Error::Decode(format!("{column}: {e}").into())))
}

/// `key_id, tenant_id, project_id, name, created_at, revoked_at, token_hash`.
#[derive(FromRow)]
pub(super) struct KeyRow {
    key_id: KeyId,
    tenant_id: TenantId,
    project_id: Option<ProjectId>,
    name: Option<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    pub(super) token_hash: Vec<u8>,
    read_only: bool,
}

impl From<KeyRow> for ApiKey {
    fn from(r: KeyRow) -> Self {
        ApiKey {
            key_id: r.key_id,
            tenant_id: r.tenant_id,
            project_id: r.project_id,
            name: r.name,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
            read_only: r.read_only,
        }
    }
}

/// An action with what is derived from its executions and triggers: `action_status`
/// (`Running` or `Idle`), `next_run_time`, `last_run_time`, `last_run_result`.
#[derive(FromRow)]
pub(super) struct ActionRow {
    action_id: ActionId,
    project_id: ProjectId,
    name: String,
    description: Option<String>,
    is_enabled: bool,
    max_run_time: i32,
    retention_days: Option<i32>,
    max_concurrency: Option<i32>,
    concurrency_key: Option<String>,
    action_status: String,
    next_run_time: Option<DateTime<Utc>>,
    last_run_time: Option<DateTime<Utc>>,
    last_run_result: Option<String>,
    date_created: DateTime<Utc>,
    date_modified: DateTime<Utc>,
    created_by: KeyId,
    modified_by: KeyId,
}

#[derive(FromRow)]
pub(super) struct StepRow {
    step_id: StepId,
    action_id: ActionId,
    step_number: i32,
    step_type: String,
    description: Option<String>,
    settings: String,
    retry: Option<String>,
    date_created: DateTime<Utc>,
}

#[derive(FromRow)]
pub(super) struct TriggerRow {
    trigger_id: TriggerId,
    action_id: ActionId,
    trigger_type: String,
    settings: String,
    frequency: i32,
    event_name: Option<String>,
    start_date: Option<NaiveDate>,
    date_created: DateTime<Utc>,
}

/// Actions with their steps and triggers, from the three queries that read them, in the
/// actions' order.
pub(super) fn actions(
    rows: Vec<ActionRow>,
    step_rows: Vec<StepRow>,
    trigger_rows: Vec<TriggerRow>,
) -> StoreResult<Vec<Action>> {
    let mut steps: HashMap<ActionId, Vec<Step>> = HashMap::new();
    for s in step_rows {
        steps.entry(s.action_id).or_default().push(Step {
            step_id: s.step_id,
            action_id: s.action_id,
            step_number: s.step_number,
            step_type: decode("step_type", &s.step_type)?,
            description: s.description,
            settings: s.settings,
            retry: retry_policy(s.retry.as_deref())?,
            date_created: s.date_created,
        });
    }
    let mut triggers: HashMap<ActionId, Vec<Trigger>> = HashMap::new();
    for t in trigger_rows {
        triggers.entry(t.action_id).or_default().push(Trigger {
            trigger_id: t.trigger_id,
            action_id: t.action_id,
            trigger_type: decode("trigger_type", &t.trigger_type)?,
            settings: t.settings,
            frequency: t.frequency,
            event_name: t.event_name,
            start_date: t.start_date,
            date_created: t.date_created,
        });
    }
    rows.into_iter()
        .map(|a| {
            Ok(Action {
                steps: steps.remove(&a.action_id).unwrap_or_default(),
                triggers: triggers.remove(&a.action_id).unwrap_or_default(),
                action_id: a.action_id,
                project_id: a.project_id,
                name: a.name,
                description: a.description,
                is_enabled: a.is_enabled,
                max_run_time: a.max_run_time,
                retention_days: a.retention_days,
                max_concurrency: a.max_concurrency,
                concurrency_key: a.concurrency_key,
                action_status: decode("action_status", &a.action_status)?,
                next_run_time: a.next_run_time,
                last_run_time: a.last_run_time,
                last_run_result: a
                    .last_run_result
                    .as_deref()
                    .map(|r| decode("last_run_result", r))
                    .transpose()?,
                date_created: a.date_created,
                date_modified: a.date_modified,
                created_by: a.created_by,
                modified_by: a.modified_by,
            })
        })
        .collect()
}

/// `action_id, execution_id, date_started, date_ended, status, notes`.
#[derive(FromRow)]
pub(super) struct ExecutionRow {
    action_id: ActionId,
    execution_id: ExecutionId,
    date_started: DateTime<Utc>,
    date_ended: Option<DateTime<Utc>>,
    status: String,
    notes: Option<String>,
}

impl ExecutionRow {
    pub(super) fn execution_id(&self) -> ExecutionId {
        self.execution_id
    }

    pub(super) fn into_execution(self) -> StoreResult<Execution> {
        Ok(Execution {
            action_id: self.action_id,
            action_execution_id: self.execution_id,
            date_started: self.date_started,
            date_ended: self.date_ended,
            status: decode("status", &self.status)?,
            notes: self.notes,
        })
    }
}

/// A Queued execution to write, of an enabled action, as both backends write one.
pub(super) struct NewRow {
    pub(super) scope: Scope,
    pub(super) action_id: ActionId,
    pub(super) execution_id: ExecutionId,
    pub(super) trigger: TriggerKind,
    pub(super) input: Option<Value>,
    /// Held in the store until then, with no outbox row (see [`NewExecution::run_at`]).
    pub(super) run_at: Option<DateTime<Utc>>,
    pub(super) rerun_of: Option<ExecutionId>,
    pub(super) trace_parent: Option<String>,
    pub(super) audit: Option<ExecutionAudit>,
}

impl NewRow {
    pub(super) fn new(
        scope: Scope,
        action_id: ActionId,
        execution_id: ExecutionId,
        request: &NewExecution,
    ) -> Self {
        Self {
            scope,
            action_id,
            execution_id,
            trigger: request.trigger,
            input: request.input.clone(),
            run_at: request.run_at,
            rerun_of: request.rerun_of,
            trace_parent: request.trace_parent.clone(),
            audit: request.audit.clone(),
        }
    }
}

/// An [`ExecutionRow`] with `action_name, attempt, trigger, input, run_at, rerun_of`.
#[derive(FromRow)]
pub(super) struct DetailRow {
    #[sqlx(flatten)]
    execution: ExecutionRow,
    action_name: String,
    attempt: i32,
    trigger: String,
    input: Option<Value>,
    run_at: Option<DateTime<Utc>>,
    rerun_of: Option<ExecutionId>,
}

/// The columns of a [`DetailRow`], for the SELECT list of each backend.
macro_rules! detail_columns {
    () => {
        "action_id, execution_id, date_started, date_ended, status, notes, action_name, \
         attempt, trigger, input, run_at, rerun_of"
    };
}
pub(super) use detail_columns;

/// One step of an execution as the history shows it.
#[derive(FromRow)]
pub(super) struct ExecutionStepRow {
    step_id: StepId,
    step_number: i32,
    step_type: String,
    status: String,
    date_started: Option<DateTime<Utc>>,
    date_ended: Option<DateTime<Utc>>,
    output: Option<Value>,
    log: Option<String>,
    error: Option<String>,
    retries: i32,
}

/// A stored retry policy (JSON text); text that no longer parses fails loudly, as a stored
/// enum does.
pub(super) fn retry_policy(text: Option<&str>) -> StoreResult<Option<RetryPolicy>> {
    text.map(|t| {
        serde_json::from_str(t)
            .map_err(|e| StoreError::Database(sqlx::Error::Decode(format!("retry: {e}").into())))
    })
    .transpose()
}

pub(super) fn detail(row: DetailRow, steps: Vec<ExecutionStepRow>) -> StoreResult<ExecutionDetail> {
    let steps = steps
        .into_iter()
        .map(|s| {
            let status = decode("status", &s.status)?;
            Ok(ExecutionStep {
                attempts: retry::attempts(status, s.retries),
                step_id: s.step_id,
                step_number: s.step_number,
                step_type: decode("step_type", &s.step_type)?,
                status,
                date_started: s.date_started,
                date_ended: s.date_ended,
                output: s.output,
                log: s.log,
                error: s.error,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(ExecutionDetail {
        execution: row.execution.into_execution()?,
        action_name: row.action_name,
        attempt: row.attempt,
        trigger: decode("trigger", &row.trigger)?,
        input: row.input,
        run_at: row.run_at,
        rerun_of: row.rerun_of,
        steps,
    })
}

/// A schedule trigger that came due.
#[derive(FromRow)]
pub(super) struct DueRow {
    pub(super) tenant_id: TenantId,
    pub(super) project_id: ProjectId,
    pub(super) trigger_id: TriggerId,
    pub(super) action_id: ActionId,
    pub(super) trigger_type: String,
    pub(super) frequency: i32,
    pub(super) start_date: Option<NaiveDate>,
    pub(super) settings: String,
    pub(super) next_fire_at: DateTime<Utc>,
}

/// `id, tenant_id, project_id, execution_id, next_step_type` of leased outbox rows.
/// id, tenant, project, execution, next step type, the execution's trace parent.
pub(super) type OutboxRow = (
    i64,
    TenantId,
    ProjectId,
    ExecutionId,
    Option<String>,
    Option<String>,
);

/// Leased outbox rows as the relay publishes them, oldest first.
pub(super) fn outbox_items(rows: Vec<OutboxRow>) -> Vec<OutboxItem> {
    let mut items: Vec<OutboxItem> = rows
        .into_iter()
        .map(
            |(id, tenant_id, project_id, execution_id, next_step_type, trace_parent)| OutboxItem {
                id,
                message: ExecuteMessage {
                    tenant_id,
                    project_id,
                    execution_id,
                    next_step_type,
                    trace_parent,
                },
            },
        )
        .collect();
    items.sort_by_key(|i| i.id);
    items
}

/// `name, created_at, updated_at` of a secret.
#[derive(FromRow)]
pub(super) struct SecretRow {
    pub(super) name: String,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
}

impl SecretRow {
    pub(super) fn into_info(self) -> StoreResult<crate::storage::SecretInfo> {
        Ok(crate::storage::SecretInfo {
            name: secret_name(&self.name)?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// `name, key_id, ciphertext` of a secret.
#[derive(FromRow)]
pub(super) struct SealedSecretRow {
    name: String,
    key_id: String,
    ciphertext: Vec<u8>,
}

impl SealedSecretRow {
    pub(super) fn into_pair(self) -> StoreResult<(SecretName, Sealed)> {
        let sealed = Sealed {
            key_id: self.key_id,
            bytes: self.ciphertext,
        };
        Ok((secret_name(&self.name)?, sealed))
    }
}

/// A stored name the API could not have written fails loudly, as a stored enum does.
fn secret_name(name: &str) -> StoreResult<SecretName> {
    SecretName::parse(name)
        .map_err(|e| StoreError::Database(sqlx::Error::Decode(format!("secrets.name: {e}").into())))
}

/// `key_id, ciphertext, created_at, expires_at` of a webhook signing secret.
#[derive(FromRow)]
pub(super) struct SigningSecretRow {
    key_id: String,
    ciphertext: Vec<u8>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
}

impl From<SigningSecretRow> for crate::storage::StoredSigningSecret {
    fn from(r: SigningSecretRow) -> Self {
        Self {
            sealed: Sealed {
                key_id: r.key_id,
                bytes: r.ciphertext,
            },
            created_at: r.created_at,
            expires_at: r.expires_at,
        }
    }
}

/// A sealed value of either table: `tenant_id, project_id, name` (secrets) or `secret_id`
/// (signing secrets), `key_id, ciphertext`.
#[derive(FromRow)]
pub(super) struct SealedEntryRow {
    tenant_id: TenantId,
    project_id: ProjectId,
    name: Option<String>,
    secret_id: Option<uuid::Uuid>,
    key_id: String,
    ciphertext: Vec<u8>,
}

impl SealedEntryRow {
    pub(super) fn into_entry(self) -> StoreResult<crate::storage::SealedEntry> {
        use crate::storage::SealedTarget;
        let target = match (self.name, self.secret_id) {
            (Some(name), _) => SealedTarget::Secret(secret_name(&name)?),
            (None, Some(id)) => SealedTarget::SigningSecret(id),
            (None, None) => {
                return Err(StoreError::Database(sqlx::Error::Decode(
                    "a sealed value of no row".into(),
                )));
            }
        };
        Ok(crate::storage::SealedEntry {
            scope: Scope {
                tenant_id: self.tenant_id,
                project_id: self.project_id,
            },
            target,
            sealed: Sealed {
                key_id: self.key_id,
                bytes: self.ciphertext,
            },
        })
    }
}

/// `audit_id, tenant_id, project_id, at, key_id, action, target_id, summary`.
#[derive(FromRow)]
pub(super) struct AuditRow {
    audit_id: crate::domain::ids::AuditId,
    tenant_id: TenantId,
    project_id: Option<ProjectId>,
    at: DateTime<Utc>,
    key_id: Option<KeyId>,
    action: String,
    target_id: String,
    summary: String,
}

impl AuditRow {
    pub(super) fn into_entry(self) -> StoreResult<crate::domain::audit::AuditEntry> {
        let action: crate::domain::audit::AuditAction = decode("audit_log.action", &self.action)?;
        Ok(crate::domain::audit::AuditEntry {
            audit_id: self.audit_id,
            at: self.at,
            key_id: self.key_id,
            tenant_id: self.tenant_id,
            project_id: self.project_id,
            target_type: action.target_type().to_string(),
            action,
            target_id: self.target_id,
            summary: self.summary,
        })
    }
}

/// A stored session; `None` when its key hash is not 32 bytes (never written so).
pub(super) fn ui_session(
    (token_hash, csrf, expires_at): (Vec<u8>, String, DateTime<Utc>),
) -> Option<super::UiSession> {
    Some(super::UiSession {
        token_hash: crate::domain::auth::TokenHash(token_hash.try_into().ok()?),
        csrf,
        expires_at,
    })
}

/// Chart counts as selected: (bucket start in epoch seconds, status, count).
pub(super) fn status_counts(rows: Vec<(i64, String, i64)>) -> Vec<super::StatusCount> {
    rows.into_iter()
        .map(|(bucket, status, count)| super::StatusCount {
            bucket,
            status,
            count,
        })
        .collect()
}
