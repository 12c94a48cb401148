//! Firing schedule triggers. Due triggers are claimed with `SKIP LOCKED` by the database's
//! clock; what fires and what is missed is [`firing::plan`]'s decision; every slot that came
//! due is recorded once in `trigger_firings` (fired or missed), whose primary key makes a
//! double firing impossible even if two schedulers raced.

use super::PgStore;
use super::executions::insert_execution;
use crate::domain::ids::{ExecutionId, Scope, TriggerId};
use crate::domain::model::TriggerKind;
use crate::domain::policy::firing;
use crate::storage::rows::{DueRow, NewRow};
use crate::storage::{ExecuteOutcome, FireReport, NewExecution, ScheduleStore, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;

#[async_trait]
impl ScheduleStore for PgStore {
    async fn fire_due(&self, limit: i64, grace: Duration) -> StoreResult<FireReport> {
        let mut tx = self.pool.begin().await?;
        let (now,): (DateTime<Utc>,) = sqlx::query_as("SELECT now()").fetch_one(&mut *tx).await?;
        let due: Vec<DueRow> = sqlx::query_as(
            "SELECT t.tenant_id, t.project_id, t.trigger_id, t.action_id, t.trigger_type, \
               t.frequency, t.start_date, t.settings, t.next_fire_at \
             FROM action_triggers t JOIN actions a ON a.tenant_id = t.tenant_id \
               AND a.project_id = t.project_id AND a.action_id = t.action_id \
             WHERE t.next_fire_at <= $1 AND a.is_enabled \
             ORDER BY t.next_fire_at LIMIT $2 FOR UPDATE OF t SKIP LOCKED",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut report = FireReport {
            claimed: due.len(),
            ..FireReport::default()
        };
        for row in due {
            let scope = Scope {
                tenant_id: row.tenant_id,
                project_id: row.project_id,
            };
            let planned = firing::stored_schedule(
                &row.trigger_type,
                row.frequency,
                row.start_date,
                &row.settings,
                row.next_fire_at,
            );
            let (schedule, catch_up) = match planned {
                Ok(parsed) => parsed,
                Err(problem) => {
                    // Settings that no longer parse: stop the trigger rather than guess.
                    tracing::error!(trigger_id = %row.trigger_id, problem, "trigger settings invalid; schedule stopped");
                    set_next(&mut tx, scope, row.trigger_id, None).await?;
                    continue;
                }
            };
            let plan = firing::plan(&schedule, catch_up, row.next_fire_at, now, grace);
            for slot in &plan.missed {
                record(&mut tx, scope, &row, *slot, "missed", None).await?;
                report.missed += 1;
            }
            if let Some(slot) = plan.fire {
                let execution_id = ExecutionId::new();
                if record(&mut tx, scope, &row, slot, "fired", Some(execution_id)).await? {
                    let inserted = insert_execution(
                        &mut tx,
                        NewRow::new(
                            scope,
                            row.action_id,
                            execution_id,
                            &NewExecution::new(TriggerKind::Schedule, None),
                        ),
                    )
                    .await?;
                    if let ExecuteOutcome::Created(_) = inserted {
                        report.fired += 1;
                    }
                }
            }
            set_next(&mut tx, scope, row.trigger_id, plan.next).await?;
        }
        tx.commit().await?;
        Ok(report)
    }
}

/// Records a slot; `false` when it was recorded before (the backstop against double firing).
async fn record(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    scope: Scope,
    row: &DueRow,
    slot: DateTime<Utc>,
    status: &str,
    execution_id: Option<ExecutionId>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO trigger_firings (tenant_id, project_id, trigger_id, slot, action_id, status, \
           execution_id) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(row.trigger_id)
    .bind(slot)
    .bind(row.action_id)
    .bind(status)
    .bind(execution_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets when a schedule trigger fires next (`None`: never).
pub(super) async fn set_next(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    scope: Scope,
    trigger_id: TriggerId,
    next: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE action_triggers SET next_fire_at = $4 \
         WHERE tenant_id = $1 AND project_id = $2 AND trigger_id = $3",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(trigger_id)
    .bind(next)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
