//! Executions as the API sees them: creating one (snapshot + outbox row in one transaction),
//! reading history, cancelling.

use super::writer::Write;
use super::{SqliteStore, now};
use crate::domain::ids::{ActionId, AuditId, ExecutionId, Scope};
use crate::domain::model::{Execution, ExecutionDetail, ExecutionStatus};
use crate::domain::names::EventName;
use crate::domain::policy::outcome;
use crate::storage::rows::{self, DetailRow, ExecutionRow, ExecutionStepRow, NewRow};
use crate::storage::{
    CancelOutcome, ExecuteOutcome, ExecutionFilter, ExecutionStore, IDEMPOTENCY_WINDOW_HOURS,
    NewExecution, StoreResult,
};
use async_trait::async_trait;
use sqlx::sqlite::SqliteConnection;

async fn fetch_execution(
    conn: &mut SqliteConnection,
    scope: Scope,
    execution_id: ExecutionId,
) -> StoreResult<Option<Execution>> {
    let row: Option<ExecutionRow> = sqlx::query_as(
        "SELECT action_id, execution_id, date_started, date_ended, status, notes \
         FROM executions WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(execution_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(ExecutionRow::into_execution).transpose()
}

/// Writes a Queued execution of an enabled action: the row, the snapshot of its steps, the
/// outbox row and the audit entry (execute, a schedule or an event firing). Runs inside the caller's transaction
/// on the writer, so the action read and the writes see one state.
pub(super) async fn insert_execution(
    conn: &mut SqliteConnection,
    item: NewRow,
) -> StoreResult<ExecuteOutcome> {
    let at = now();
    let NewRow {
        scope,
        action_id,
        execution_id,
        ..
    } = item;
    // The action is read by the insert itself: one statement on the hot path. A delayed run
    // is held (not_before) and gets no outbox row until `release_due` (see the PostgreSQL
    // migration 20261206000002).
    let row: Option<ExecutionRow> = sqlx::query_as(
        "INSERT INTO executions (tenant_id, project_id, execution_id, action_id, action_name, \
           status, trigger, input, max_run_time, date_started, run_at, not_before, rerun_of, \
           concurrency_limit, concurrency_key, trace_parent) \
         SELECT $1, $2, $3, $4, name, $5, $6, $7, max_run_time, $8, $9, $9, $10, \
           concurrency_limit, COALESCE(json_extract($7, concurrency_key_path), ''), $11 \
         FROM actions \
         WHERE tenant_id = $1 AND project_id = $2 AND action_id = $4 AND is_enabled \
         RETURNING action_id, execution_id, date_started, date_ended, status, notes",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(execution_id)
    .bind(action_id)
    .bind(ExecutionStatus::Queued.as_str())
    .bind(item.trigger.as_str())
    .bind(item.input.as_ref())
    .bind(at)
    .bind(item.run_at)
    .bind(item.rerun_of)
    .bind(item.trace_parent.as_deref())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM actions \
               WHERE tenant_id = $1 AND project_id = $2 AND action_id = $3)",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(action_id)
        .fetch_one(&mut *conn)
        .await?;
        return Ok(ExecuteOutcome::not_written(exists));
    };
    sqlx::query(
        "INSERT INTO execution_steps (tenant_id, project_id, execution_id, step_number, \
           step_id, step_type, settings, retry) \
         SELECT tenant_id, project_id, $4, step_number, step_id, step_type, settings, retry \
         FROM action_steps WHERE tenant_id = $1 AND project_id = $2 AND action_id = $3",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(action_id)
    .bind(execution_id)
    .execute(&mut *conn)
    .await?;
    if item.run_at.is_none() {
        super::outbox::enqueue(conn, scope, execution_id, at).await?;
    }
    if let Some(audit) = &item.audit {
        sqlx::query(
            "INSERT INTO audit_log (audit_id, tenant_id, project_id, at, key_id, action, \
               target_id, summary) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(AuditId::new())
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(at)
        .bind(audit.key_id)
        .bind(audit.action.as_str())
        .bind(execution_id.to_string())
        .bind(&audit.summary)
        .execute(&mut *conn)
        .await?;
    }
    Ok(ExecuteOutcome::Created(row.into_execution()?))
}

#[async_trait]
impl ExecutionStore for SqliteStore {
    async fn create_execution(
        &self,
        scope: Scope,
        action_id: ActionId,
        request: NewExecution,
    ) -> StoreResult<ExecuteOutcome> {
        self.writer
            .write(move |conn| Box::pin(create(conn, scope, action_id, request)))
            .await
    }

    async fn event_subscribers(
        &self,
        scope: Scope,
        event_name: &EventName,
    ) -> StoreResult<Vec<ActionId>> {
        let actions: Vec<(ActionId,)> = sqlx::query_as(
            "SELECT DISTINCT t.action_id FROM action_triggers t JOIN actions a \
               ON a.tenant_id = t.tenant_id AND a.project_id = t.project_id \
               AND a.action_id = t.action_id \
             WHERE t.tenant_id = $1 AND t.project_id = $2 AND t.trigger_type = 'EventTrigger' \
               AND t.event_name = $3 AND a.is_enabled ORDER BY t.action_id",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(event_name.as_str())
        .fetch_all(&self.reader)
        .await?;
        Ok(actions.into_iter().map(|(id,)| id).collect())
    }

    async fn get_execution(
        &self,
        scope: Scope,
        execution_id: ExecutionId,
    ) -> StoreResult<Option<ExecutionDetail>> {
        // One read transaction: the execution and its steps from one snapshot.
        let mut tx = self.reader.begin().await?;
        let row: Option<DetailRow> = sqlx::query_as(concat!(
            "SELECT ",
            rows::detail_columns!(),
            " FROM executions WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3",
        ))
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(execution_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let steps: Vec<ExecutionStepRow> = sqlx::query_as(
            "SELECT step_id, step_number, step_type, status, date_started, date_ended, output, \
               log, error, retries \
             FROM execution_steps WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
             ORDER BY step_number",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(execution_id)
        .fetch_all(&mut *tx)
        .await?;
        Ok(Some(rows::detail(row, steps)?))
    }

    async fn list_executions(
        &self,
        scope: Scope,
        filter: ExecutionFilter,
    ) -> StoreResult<Vec<Execution>> {
        super::history::list(&self.reader, scope, filter).await
    }

    async fn cancel_execution(
        &self,
        scope: Scope,
        execution_id: ExecutionId,
    ) -> StoreResult<CancelOutcome> {
        let outcome = self
            .writer
            .write(move |conn| Box::pin(cancel(conn, scope, execution_id)))
            .await?;
        // After the commit: a notice is sent only for a cancel that happened. A worker that
        // misses it (none listening) finds the execution no longer Running at its next write.
        if let CancelOutcome::Cancelled(_) = outcome {
            let _ = self.cancellations.send(execution_id);
        }
        Ok(outcome)
    }
}

/// Creates an execution, honouring its idempotency key: a live key returns the execution it
/// first created. The writer runs one write at a time, so no concurrent request can slip
/// between the key's check and the insert.
async fn create(
    conn: &mut SqliteConnection,
    scope: Scope,
    action_id: ActionId,
    request: NewExecution,
) -> StoreResult<Write<ExecuteOutcome>> {
    let execution_id = ExecutionId::new();
    if let Some(key) = &request.idempotency_key {
        let at = now();
        let window = chrono::Duration::hours(IDEMPOTENCY_WINDOW_HOURS.into());
        let fresh: Option<(ExecutionId,)> = sqlx::query_as(
            "INSERT INTO idempotency_keys \
               (tenant_id, project_id, action_id, key, execution_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant_id, project_id, action_id, key) DO UPDATE \
               SET execution_id = excluded.execution_id, created_at = excluded.created_at \
               WHERE idempotency_keys.created_at < $7 \
             RETURNING execution_id",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(action_id)
        .bind(key)
        .bind(execution_id)
        .bind(at)
        .bind(at - window)
        .fetch_optional(&mut *conn)
        .await?;
        if fresh.is_none() {
            let (existing,): (ExecutionId,) = sqlx::query_as(
                "SELECT execution_id FROM idempotency_keys WHERE tenant_id = $1 \
                   AND project_id = $2 AND action_id = $3 AND key = $4",
            )
            .bind(scope.tenant_id)
            .bind(scope.project_id)
            .bind(action_id)
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
            // The key outlives an execution only if rows were deleted by hand; the key is
            // then taken as unused, as on PostgreSQL.
            if let Some(execution) = fetch_execution(conn, scope, existing).await? {
                return Ok(Write::Discard(ExecuteOutcome::Existing(execution)));
            }
            sqlx::query(
                "UPDATE idempotency_keys SET execution_id = $5 WHERE tenant_id = $1 \
                   AND project_id = $2 AND action_id = $3 AND key = $4",
            )
            .bind(scope.tenant_id)
            .bind(scope.project_id)
            .bind(action_id)
            .bind(key)
            .bind(execution_id)
            .execute(&mut *conn)
            .await?;
        }
    }
    let item = NewRow::new(scope, action_id, execution_id, &request);
    let inserted = insert_execution(conn, item).await?;
    Ok(match inserted {
        ExecuteOutcome::Created(_) => Write::Keep(inserted),
        // Nothing to keep, the idempotency key included.
        _ => Write::Discard(inserted),
    })
}

async fn cancel(
    conn: &mut SqliteConnection,
    scope: Scope,
    execution_id: ExecutionId,
) -> StoreResult<Write<CancelOutcome>> {
    let at = now();
    let row: Option<ExecutionRow> = sqlx::query_as(
        "UPDATE executions SET status = 'Failed', notes = $4, date_ended = $5, \
           lease_owner = NULL, lease_expires_at = NULL, not_before = NULL, \
           waiting_slot = 0 \
         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
           AND status IN ('Queued', 'Running') \
         RETURNING action_id, execution_id, date_started, date_ended, status, notes",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(execution_id)
    .bind(outcome::CANCELLED)
    .bind(at)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        let existing = fetch_execution(conn, scope, execution_id).await?;
        return Ok(Write::Discard(match existing {
            Some(execution) => CancelOutcome::AlreadyFinished(execution),
            None => CancelOutcome::NotFound,
        }));
    };
    super::work::end_steps(conn, scope, execution_id, None, outcome::CANCELLED, at).await?;
    Ok(Write::Keep(CancelOutcome::Cancelled(row.into_execution()?)))
}
