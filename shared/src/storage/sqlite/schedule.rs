//! Firing schedule triggers: what fires and what is missed is [`firing::plan`]'s decision;
//! every slot that came due is recorded once in `trigger_firings`, whose primary key makes a
//! double firing impossible.

use super::SqliteStore;
use super::executions::insert_execution;
use super::now;
use super::writer::Write;
use crate::domain::ids::{ExecutionId, Scope, TriggerId};
use crate::domain::model::TriggerKind;
use crate::domain::policy::firing;
use crate::storage::rows::{DueRow, NewRow};
use crate::storage::{ExecuteOutcome, FireReport, NewExecution, ScheduleStore, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteConnection;
use std::time::Duration;

#[async_trait]
impl ScheduleStore for SqliteStore {
    async fn fire_due(&self, limit: i64, grace: Duration) -> StoreResult<FireReport> {
        self.writer
            .write(move |conn| Box::pin(fire_due(conn, limit, grace)))
            .await
    }
}

/// Fires what is due now, in one write: the slots recorded and the executions they made
/// commit together.
async fn fire_due(
    conn: &mut SqliteConnection,
    limit: i64,
    grace: Duration,
) -> StoreResult<Write<FireReport>> {
    let at = now();
    let due: Vec<DueRow> = sqlx::query_as(
        "SELECT t.tenant_id, t.project_id, t.trigger_id, t.action_id, t.trigger_type, \
               t.frequency, t.start_date, t.settings, t.next_fire_at \
             FROM action_triggers t JOIN actions a ON a.tenant_id = t.tenant_id \
               AND a.project_id = t.project_id AND a.action_id = t.action_id \
             WHERE t.next_fire_at <= $1 AND a.is_enabled \
             ORDER BY t.next_fire_at LIMIT $2",
    )
    .bind(at)
    .bind(limit)
    .fetch_all(&mut *conn)
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
        let (schedule, catch_up) = match firing::stored_schedule(
            &row.trigger_type,
            row.frequency,
            row.start_date,
            &row.settings,
            row.next_fire_at,
        ) {
            Ok(parsed) => parsed,
            Err(problem) => {
                tracing::error!(trigger_id = %row.trigger_id, problem, "trigger settings invalid; schedule stopped");
                set_next(conn, scope, row.trigger_id, None).await?;
                continue;
            }
        };
        let plan = firing::plan(&schedule, catch_up, row.next_fire_at, at, grace);
        for slot in &plan.missed {
            record(conn, scope, &row, *slot, "missed", None, at).await?;
            report.missed += 1;
        }
        if let Some(slot) = plan.fire {
            let execution_id = ExecutionId::new();
            if record(conn, scope, &row, slot, "fired", Some(execution_id), at).await? {
                let inserted = insert_execution(
                    conn,
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
        set_next(conn, scope, row.trigger_id, plan.next).await?;
    }
    Ok(Write::Keep(report))
}

/// Records a slot; `false` when it was recorded before (the backstop against double firing).
async fn record(
    conn: &mut SqliteConnection,
    scope: Scope,
    row: &DueRow,
    slot: DateTime<Utc>,
    status: &str,
    execution_id: Option<ExecutionId>,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO trigger_firings (tenant_id, project_id, trigger_id, slot, action_id, status, \
           execution_id, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT DO NOTHING",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(row.trigger_id)
    .bind(slot)
    .bind(row.action_id)
    .bind(status)
    .bind(execution_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets when a schedule trigger fires next (`None`: never).
pub(super) async fn set_next(
    conn: &mut SqliteConnection,
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
    .execute(conn)
    .await?;
    Ok(())
}
