//! Concurrency limits on SQLite (the PostgreSQL migration `20261206000005` says how they
//! work). The one writer runs claims one at a time, so counting a group's Running executions
//! and claiming need no lock of their own.

use super::now;
use crate::domain::draft::Concurrency;
use crate::domain::ids::{ActionId, ExecutionId, ProjectId, Scope, TenantId};
use crate::storage::StoreResult;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteConnection;

/// Whether a claim of the execution may go ahead: it is not limited, not claimable anyway, or
/// its group has a free slot (not taken by a Running execution, nor by an older Queued one on
/// its way to a claim) and no older execution waiting: first come, first served. Otherwise it is marked waiting
/// and `false` is answered.
pub(super) async fn claimable(
    conn: &mut SqliteConnection,
    scope: Scope,
    execution_id: ExecutionId,
) -> StoreResult<bool> {
    let limited: Option<(i32, String, ActionId, DateTime<Utc>)> = sqlx::query_as(
        "SELECT concurrency_limit, concurrency_key, action_id, date_started FROM executions \
         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 AND status = 'Queued' \
           AND not_before IS NULL AND concurrency_limit IS NOT NULL",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(execution_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((limit, key, action_id, queued_at)) = limited else {
        return Ok(true);
    };
    let (taken, older_waiting): (i64, bool) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM executions WHERE action_id = $3 AND tenant_id = $1 \
             AND project_id = $2 AND concurrency_key = $4 AND (status = 'Running' \
               OR (status = 'Queued' AND NOT waiting_slot AND not_before IS NULL \
                 AND (date_started, execution_id) < ($5, $6)))), \
           EXISTS (SELECT 1 FROM executions WHERE action_id = $3 AND tenant_id = $1 \
             AND project_id = $2 AND waiting_slot AND status = 'Queued' AND not_before IS NULL \
             AND concurrency_key = $4 AND (date_started, execution_id) < ($5, $6))",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(action_id)
    .bind(&key)
    .bind(queued_at)
    .bind(execution_id)
    .fetch_one(&mut *conn)
    .await?;
    if taken < i64::from(limit) && !older_waiting {
        return Ok(true);
    }
    sqlx::query(
        "UPDATE executions SET waiting_slot = 1 \
         WHERE tenant_id = $1 AND project_id = $2 AND execution_id = $3 AND status = 'Queued' \
           AND not_before IS NULL",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(execution_id)
    .execute(&mut *conn)
    .await?;
    Ok(false)
}

/// Gives each group's free slots to its oldest waiting executions (at most `limit` in all):
/// they stop waiting; the caller publishes them. A slot counts as taken by a Running
/// execution and by a Queued one on its way to a claim.
pub(super) async fn release_waiting(
    conn: &mut SqliteConnection,
    limit: i64,
) -> StoreResult<Vec<(TenantId, ProjectId, ExecutionId)>> {
    let groups: Vec<(TenantId, ProjectId, ActionId, String, i64)> = sqlx::query_as(
        "SELECT g.tenant_id, g.project_id, g.action_id, g.concurrency_key, \
           g.lim - (SELECT count(*) FROM executions o WHERE o.action_id = g.action_id \
             AND o.tenant_id = g.tenant_id AND o.project_id = g.project_id \
             AND o.concurrency_key = g.concurrency_key \
             AND (o.status = 'Running' OR (o.status = 'Queued' AND NOT o.waiting_slot \
               AND o.not_before IS NULL))) \
         FROM (SELECT tenant_id, project_id, action_id, concurrency_key, \
                 max(concurrency_limit) AS lim FROM executions \
               WHERE waiting_slot AND status = 'Queued' AND not_before IS NULL \
               GROUP BY tenant_id, project_id, action_id, concurrency_key) g",
    )
    .fetch_all(&mut *conn)
    .await?;
    let at = now();
    let mut released = Vec::new();
    for (tenant_id, project_id, action_id, key, free) in groups {
        let room = free.min(limit - released.len() as i64);
        if room <= 0 {
            continue;
        }
        let ids: Vec<(ExecutionId,)> = sqlx::query_as(
            "UPDATE executions SET waiting_slot = 0, requeued_at = $6 \
             WHERE rowid IN (SELECT rowid FROM executions WHERE action_id = $3 \
               AND tenant_id = $1 AND project_id = $2 AND concurrency_key = $4 \
               AND waiting_slot AND status = 'Queued' AND not_before IS NULL \
               ORDER BY date_started, execution_id LIMIT $5) \
             RETURNING execution_id",
        )
        .bind(tenant_id)
        .bind(project_id)
        .bind(action_id)
        .bind(&key)
        .bind(room)
        .bind(at)
        .fetch_all(&mut *conn)
        .await?;
        released.extend(ids.into_iter().map(|(id,)| (tenant_id, project_id, id)));
    }
    Ok(released)
}

/// After an action's limit changed: its Queued executions take the new limit and their key's
/// value under the new key, so that old and new executions form one group; with no limit any
/// more, those waiting are published at once.
pub(super) async fn follow_limit(
    conn: &mut SqliteConnection,
    scope: Scope,
    action_id: ActionId,
    concurrency: &Concurrency,
) -> StoreResult<()> {
    let limit = concurrency.limit();
    if limit.is_none() {
        let freed: Vec<(ExecutionId,)> = sqlx::query_as(
            "UPDATE executions SET waiting_slot = 0 \
             WHERE tenant_id = $1 AND project_id = $2 AND action_id = $3 \
               AND status = 'Queued' AND waiting_slot \
             RETURNING execution_id",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(action_id)
        .fetch_all(&mut *conn)
        .await?;
        let at = now();
        for (execution_id,) in freed {
            super::outbox::enqueue(conn, scope, execution_id, at).await?;
        }
    }
    sqlx::query(
        "UPDATE executions SET concurrency_limit = $4, \
           concurrency_key = COALESCE(json_extract(input, $5), '') \
         WHERE tenant_id = $1 AND project_id = $2 AND action_id = $3 AND status = 'Queued'",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(action_id)
    .bind(limit)
    .bind(concurrency.key.as_ref().map(|k| k.path.sqlite_path()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
