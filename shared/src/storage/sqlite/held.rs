//! Held executions (delayed runs): Queued with `not_before` set and no outbox row, so nothing
//! publishes or claims them. Releasing one clears `not_before` and writes its outbox row in
//! the same write (the writer's transaction).

use super::now;
use super::writer::Write;
use crate::domain::ids::{ExecutionId, ProjectId, Scope, TenantId};
use crate::storage::StoreResult;
use sqlx::sqlite::SqliteConnection;

pub(super) async fn release_due(
    conn: &mut SqliteConnection,
    limit: i64,
) -> StoreResult<Write<u64>> {
    let at = now();
    let due: Vec<(TenantId, ProjectId, ExecutionId)> = sqlx::query_as(
        "UPDATE executions SET not_before = NULL, requeued_at = $1 \
         WHERE rowid IN (SELECT rowid FROM executions \
           WHERE not_before <= $1 AND status = 'Queued' ORDER BY not_before LIMIT $2) \
         RETURNING tenant_id, project_id, execution_id",
    )
    .bind(at)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    for (tenant_id, project_id, execution_id) in &due {
        let scope = Scope {
            tenant_id: *tenant_id,
            project_id: *project_id,
        };
        super::outbox::enqueue(conn, scope, *execution_id, at).await?;
    }
    Ok(if due.is_empty() {
        Write::Discard(0)
    } else {
        Write::Keep(due.len() as u64)
    })
}
