//! Concurrency limits on PostgreSQL: giving free slots to waiting executions (the claim's
//! side is in the claim function of migration `20261206000007`; `20261206000005` says how
//! limits work).

use crate::domain::draft::Concurrency;
use crate::domain::ids::{ActionId, Scope};
use crate::storage::StoreResult;
use sqlx::postgres::{PgConnection, PgPool};

/// Gives each group's free slots to its oldest waiting executions (at most `limit` in all),
/// and writes their outbox rows, in one statement. A slot counts as taken by a Running
/// execution and by a Queued one on its way to a claim. Two processes releasing at once may
/// both give the same slot (each skips the other's rows): the claim, which counts under the
/// group's lock, sends the extra one back to wait.
pub(super) async fn release_waiting(pool: &PgPool, limit: i64) -> StoreResult<u64> {
    let done = sqlx::query(concat!(
        "WITH groups AS ( \
           SELECT tenant_id, project_id, action_id, concurrency_key, \
             max(concurrency_limit) AS lim FROM executions \
           WHERE waiting_slot AND status = 'Queued' AND not_before IS NULL \
           GROUP BY tenant_id, project_id, action_id, concurrency_key), \
         open AS ( \
           SELECT g.*, g.lim - (SELECT count(*) FROM executions o \
             WHERE o.action_id = g.action_id AND o.tenant_id = g.tenant_id \
               AND o.project_id = g.project_id AND o.concurrency_key = g.concurrency_key \
               AND (o.status = 'Running' OR (o.status = 'Queued' AND NOT o.waiting_slot \
                 AND o.not_before IS NULL))) AS slots \
           FROM groups g), \
         picked AS ( \
           SELECT w.tenant_id, w.project_id, w.execution_id FROM open g \
           CROSS JOIN LATERAL (SELECT e.tenant_id, e.project_id, e.execution_id \
             FROM executions e WHERE e.action_id = g.action_id AND e.tenant_id = g.tenant_id \
               AND e.project_id = g.project_id AND e.concurrency_key = g.concurrency_key \
               AND e.waiting_slot AND e.status = 'Queued' AND e.not_before IS NULL \
             ORDER BY e.date_started, e.execution_id LIMIT greatest(g.slots, 0) \
             FOR UPDATE SKIP LOCKED) w \
           LIMIT $1), \
         released AS ( \
           UPDATE executions e SET waiting_slot = false, requeued_at = now() FROM picked d \
           WHERE e.tenant_id = d.tenant_id AND e.project_id = d.project_id \
             AND e.execution_id = d.execution_id \
           RETURNING e.tenant_id, e.project_id, e.execution_id) \
         ",
        publish_rows!("released")
    ))
    .bind(limit)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// After an action's limit changed: its Queued executions take the new limit and their key's
/// value under the new key, so that old and new executions form one group; with no limit any
/// more, those waiting are published at once.
pub(super) async fn follow_limit(
    conn: &mut PgConnection,
    scope: Scope,
    action_id: ActionId,
    concurrency: &Concurrency,
) -> StoreResult<()> {
    let limit = concurrency.limit();
    if limit.is_none() {
        sqlx::query(concat!(
            "WITH freed AS ( \
               UPDATE executions SET waiting_slot = false \
               WHERE tenant_id = $1 AND project_id = $2 AND action_id = $3 \
                 AND status = 'Queued' AND waiting_slot \
               RETURNING tenant_id, project_id, execution_id) \
             ",
            publish_rows!("freed")
        ))
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(action_id)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "UPDATE executions SET concurrency_limit = $4, \
           concurrency_key = COALESCE(input #>> $5::text[], '') \
         WHERE tenant_id = $1 AND project_id = $2 AND action_id = $3 AND status = 'Queued'",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(action_id)
    .bind(limit)
    .bind(concurrency.key.as_ref().map(|k| k.path.names().to_vec()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
