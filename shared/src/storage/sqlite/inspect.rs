//! [`Inspect`] on SQLite: the same questions as on PostgreSQL.

use super::SqliteStore;
use super::writer::Write;
use crate::domain::ids::{ActionId, ExecutionId, KeyId};
use crate::domain::model::TriggerKind;
use crate::storage::{FiringRecord, Inspect, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

#[async_trait]
impl Inspect for SqliteStore {
    async fn count_executions(&self, trigger: Option<TriggerKind>) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM executions WHERE $1 IS NULL OR trigger = $1")
                .bind(trigger.map(TriggerKind::as_str))
                .fetch_one(&self.reader)
                .await?,
        )
    }

    async fn count_outbox(&self, execution: Option<ExecutionId>) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE $1 IS NULL OR execution_id = $1")
                .bind(execution)
                .fetch_one(&self.reader)
                .await?,
        )
    }

    async fn firings(&self) -> StoreResult<Vec<FiringRecord>> {
        let rows: Vec<(DateTime<Utc>, String)> =
            sqlx::query_as("SELECT slot, status FROM trigger_firings ORDER BY slot")
                .fetch_all(&self.reader)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(slot, status)| FiringRecord {
                slot,
                fired: status == "fired",
            })
            .collect())
    }

    async fn execution_max_run_time(&self, id: ExecutionId) -> StoreResult<Option<i32>> {
        Ok(
            sqlx::query_scalar("SELECT max_run_time FROM executions WHERE execution_id = $1")
                .bind(id)
                .fetch_optional(&self.reader)
                .await?,
        )
    }

    async fn stored_token_hash(&self, key: KeyId) -> StoreResult<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT token_hash FROM api_keys WHERE key_id = $1")
                .bind(key)
                .fetch_optional(&self.reader)
                .await?,
        )
    }

    async fn rewind_triggers(&self, days: i32) -> StoreResult<()> {
        let midnight = Utc::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc();
        let next = midnight - Duration::days(days.into()) + Duration::hours(6);
        self.writer
            .write(move |conn| {
                Box::pin(async move {
                    sqlx::query("UPDATE action_triggers SET next_fire_at = $1")
                        .bind(next)
                        .execute(conn)
                        .await?;
                    Ok(Write::Keep(()))
                })
            })
            .await
    }

    async fn overwrite_step_settings(&self, action: ActionId, settings: &str) -> StoreResult<()> {
        let settings = settings.to_string();
        self.writer
            .write(move |conn| {
                Box::pin(async move {
                    sqlx::query("UPDATE action_steps SET settings = $1 WHERE action_id = $2")
                        .bind(settings)
                        .bind(action)
                        .execute(conn)
                        .await?;
                    Ok(Write::Keep(()))
                })
            })
            .await
    }

    async fn backdate_execution(&self, id: ExecutionId, ended: DateTime<Utc>) -> StoreResult<()> {
        // SQLite has no interval arithmetic on the stored text: the start moves to the end.
        self.writer
            .write(move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "UPDATE executions SET date_started = $2, date_ended = $2 \
                         WHERE execution_id = $1 AND date_ended IS NOT NULL",
                    )
                    .bind(id)
                    .bind(ended)
                    .execute(conn)
                    .await?;
                    Ok(Write::Keep(()))
                })
            })
            .await
    }

    async fn count_execution_steps(&self, id: ExecutionId) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM execution_steps WHERE execution_id = $1")
                .bind(id)
                .fetch_one(&self.reader)
                .await?,
        )
    }

    async fn tables_containing(&self, needle: &str) -> StoreResult<Vec<String>> {
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
                .fetch_all(&self.reader)
                .await?;
        let mut found = Vec::new();
        for table in tables {
            let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                .bind(&table)
                .fetch_all(&self.reader)
                .await?;
            if columns.is_empty() {
                continue;
            }
            // Every column as bytes: text and blobs alike. Names from the schema, quoted.
            let any = columns
                .iter()
                .map(|c| format!("instr(CAST(\"{c}\" AS BLOB), $1) > 0"))
                .collect::<Vec<_>>()
                .join(" OR ");
            let sql = format!("SELECT count(*) FROM \"{table}\" WHERE {any}");
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(needle.as_bytes())
                .fetch_one(&self.reader)
                .await?;
            if n > 0 {
                found.push(table);
            }
        }
        Ok(found)
    }
}
