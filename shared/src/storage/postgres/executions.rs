//! Executions as the API sees them: creating one (snapshot + outbox row in one transaction),
//! reading history, cancelling.

use super::PgStore;
use super::batch::BatchWrite;
use crate::domain::ids::{ActionId, ExecutionId, Scope};
use crate::domain::model::{Execution, ExecutionDetail};
use crate::domain::names::EventName;
use crate::domain::policy::outcome;
use crate::storage::rows::{self, DetailRow, ExecutionRow, ExecutionStepRow, NewRow};
use crate::storage::{
    CancelOutcome, ExecuteOutcome, ExecutionFilter, ExecutionStore, IDEMPOTENCY_WINDOW_HOURS,
    NewExecution, StoreResult,
};
use async_trait::async_trait;
use sqlx::PgExecutor;
use sqlx::postgres::{PgConnection, PgPool};
use std::collections::HashMap;

async fn fetch_execution(
    conn: &mut PgConnection,
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

/// Writes each execution (its row, the snapshot of its action's steps, its outbox row and its
/// audit entry) if
/// its action exists and is enabled, with one call of `actuate_insert_executions`: one
/// statement per item reads the action and its steps in one snapshot, so the snapshot is
/// consistent without locking the action row; a concurrent update or disable is ordered either
/// before or after it. Returns the rows of the executions created.
async fn insert_rows<'c>(
    conn: impl PgExecutor<'c>,
    items: &[NewRow],
) -> StoreResult<Vec<ExecutionRow>> {
    Ok(sqlx::query_as(
        "SELECT action_id, execution_id, date_started, date_ended, status, notes \
         FROM actuate_insert_executions($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(
        items
            .iter()
            .map(|i| i.scope.tenant_id.0)
            .collect::<Vec<_>>(),
    )
    .bind(
        items
            .iter()
            .map(|i| i.scope.project_id.0)
            .collect::<Vec<_>>(),
    )
    .bind(items.iter().map(|i| i.action_id.0).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.execution_id.0).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.trigger.as_str()).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.input.clone()).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.run_at).collect::<Vec<_>>())
    .bind(
        items
            .iter()
            .map(|i| i.rerun_of.map(|id| id.0))
            .collect::<Vec<_>>(),
    )
    .bind(
        items
            .iter()
            .map(|i| i.trace_parent.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        items
            .iter()
            .map(|i| i.audit.as_ref().and_then(|a| a.key_id))
            .collect::<Vec<_>>(),
    )
    .bind(
        items
            .iter()
            .map(|i| i.audit.as_ref().map(|a| a.action.as_str()))
            .collect::<Vec<_>>(),
    )
    .bind(
        items
            .iter()
            .map(|i| i.audit.as_ref().map(|a| a.summary.as_str()))
            .collect::<Vec<_>>(),
    )
    .fetch_all(conn)
    .await?)
}

/// Writes a Queued execution of an enabled action on `conn` (execute with an idempotency key,
/// a schedule or an event firing): see [`insert_rows`].
pub(super) async fn insert_execution(
    conn: &mut PgConnection,
    item: NewRow,
) -> StoreResult<ExecuteOutcome> {
    match insert_rows(&mut *conn, std::slice::from_ref(&item))
        .await?
        .pop()
    {
        Some(row) => Ok(ExecuteOutcome::Created(row.into_execution()?)),
        None => not_written(conn, item.scope, item.action_id).await,
    }
}

/// Why an execution of `action_id` was not written: the action is missing or disabled.
async fn not_written(
    conn: &mut PgConnection,
    scope: Scope,
    action_id: ActionId,
) -> StoreResult<ExecuteOutcome> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM actions \
           WHERE tenant_id = $1 AND project_id = $2 AND action_id = $3)",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(action_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(ExecuteOutcome::not_written(exists))
}

/// Executes without an idempotency key, written together (see `batch.rs`).
pub(super) struct Executes;

#[async_trait]
impl BatchWrite for Executes {
    type Item = NewRow;
    /// `None`: not written (the action is missing or disabled).
    type Answer = Option<ExecutionRow>;
    const KIND: &'static str = "execute";

    async fn write(pool: &PgPool, items: &[NewRow]) -> StoreResult<Vec<Self::Answer>> {
        let mut rows: HashMap<ExecutionId, ExecutionRow> = insert_rows(pool, items)
            .await?
            .into_iter()
            .map(|row| (row.execution_id(), row))
            .collect();
        Ok(items
            .iter()
            .map(|item| rows.remove(&item.execution_id))
            .collect())
    }
}

#[async_trait]
impl ExecutionStore for PgStore {
    async fn create_execution(
        &self,
        scope: Scope,
        action_id: ActionId,
        request: NewExecution,
    ) -> StoreResult<ExecuteOutcome> {
        let execution_id = ExecutionId::new();
        let Some(key) = &request.idempotency_key else {
            let item = NewRow::new(scope, action_id, execution_id, &request);
            return match self.batchers.executes.submit(item).await? {
                Some(row) => Ok(ExecuteOutcome::Created(row.into_execution()?)),
                None => not_written(&mut *self.pool.acquire().await?, scope, action_id).await,
            };
        };
        let mut tx = self.pool.begin().await?;
        // Inserting the key first serialises concurrent requests with the same key: the
        // second waits for the first to commit, then finds its execution.
        let fresh: Option<(ExecutionId,)> = sqlx::query_as(
            "INSERT INTO idempotency_keys \
                   (tenant_id, project_id, action_id, key, execution_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, now()) \
                 ON CONFLICT (tenant_id, project_id, action_id, key) DO UPDATE \
                   SET execution_id = EXCLUDED.execution_id, created_at = EXCLUDED.created_at \
                   WHERE idempotency_keys.created_at < now() - make_interval(hours => $6) \
                 RETURNING execution_id",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(action_id)
        .bind(key)
        .bind(execution_id)
        .bind(IDEMPOTENCY_WINDOW_HOURS)
        .fetch_optional(&mut *tx)
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
            .fetch_one(&mut *tx)
            .await?;
            let execution = fetch_execution(&mut tx, scope, existing).await?;
            tx.rollback().await?;
            // The key outlives an execution only if rows were deleted by hand; treat the
            // key as unused then rather than fail the request.
            if let Some(execution) = execution {
                return Ok(ExecuteOutcome::Existing(execution));
            }
            return Box::pin(self.create_execution(
                scope,
                action_id,
                NewExecution {
                    idempotency_key: None,
                    ..request
                },
            ))
            .await;
        }

        let item = NewRow::new(scope, action_id, execution_id, &request);
        let outcome = insert_execution(&mut tx, item).await?;
        if matches!(outcome, ExecuteOutcome::Created(_)) {
            tx.commit().await?;
        }
        Ok(outcome)
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
        .fetch_all(&self.pool)
        .await?;
        Ok(actions.into_iter().map(|(id,)| id).collect())
    }

    async fn get_execution(
        &self,
        scope: Scope,
        execution_id: ExecutionId,
    ) -> StoreResult<Option<ExecutionDetail>> {
        let mut conn = self.pool.acquire().await?;
        let row: Option<DetailRow> = sqlx::query_as(concat!(
            "SELECT ",
            rows::detail_columns!(),
            " FROM executions WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3",
        ))
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(execution_id)
        .fetch_optional(&mut *conn)
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
        .fetch_all(&mut *conn)
        .await?;
        Ok(Some(rows::detail(row, steps)?))
    }

    async fn list_executions(
        &self,
        scope: Scope,
        filter: ExecutionFilter,
    ) -> StoreResult<Vec<Execution>> {
        super::history::list(&self.pool, scope, filter).await
    }

    async fn cancel_execution(
        &self,
        scope: Scope,
        execution_id: ExecutionId,
    ) -> StoreResult<CancelOutcome> {
        let mut tx = self.pool.begin().await?;
        let row: Option<ExecutionRow> = sqlx::query_as(
            "UPDATE executions SET status = 'Failed', notes = $4, date_ended = now(), \
               lease_owner = NULL, lease_expires_at = NULL, not_before = NULL, \
               waiting_slot = false \
             WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 \
               AND status IN ('Queued', 'Running') \
             RETURNING action_id, execution_id, date_started, date_ended, status, notes",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(execution_id)
        .bind(outcome::CANCELLED)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let existing = fetch_execution(&mut tx, scope, execution_id).await?;
            return Ok(match existing {
                Some(execution) => CancelOutcome::AlreadyFinished(execution),
                None => CancelOutcome::NotFound,
            });
        };
        super::work::close_steps(&mut tx, scope, execution_id, outcome::CANCELLED).await?;
        // Wakes the worker running it, if any; its later writes are fenced out anyway.
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(super::notices::CANCEL_CHANNEL)
            .bind(execution_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(CancelOutcome::Cancelled(row.into_execution()?))
    }
}
