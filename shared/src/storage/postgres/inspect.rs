//! [`Inspect`] on PostgreSQL: the only SQL the integration tests depend on.

use super::PgStore;
use crate::domain::ids::{ActionId, ExecutionId, KeyId};
use crate::domain::model::TriggerKind;
use crate::storage::{FiringRecord, Inspect, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
impl Inspect for PgStore {
    async fn count_executions(&self, trigger: Option<TriggerKind>) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM executions WHERE $1::text IS NULL OR trigger = $1",
        )
        .bind(trigger.map(TriggerKind::as_str))
        .fetch_one(&self.pool)
        .await?)
    }

    async fn count_outbox(&self, execution: Option<ExecutionId>) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE $1::uuid IS NULL OR execution_id = $1",
        )
        .bind(execution)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn firings(&self) -> StoreResult<Vec<FiringRecord>> {
        let rows: Vec<(DateTime<Utc>, String)> =
            sqlx::query_as("SELECT slot, status FROM trigger_firings ORDER BY slot")
                .fetch_all(&self.pool)
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
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn stored_token_hash(&self, key: KeyId) -> StoreResult<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT token_hash FROM api_keys WHERE key_id = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn rewind_triggers(&self, days: i32) -> StoreResult<()> {
        sqlx::query(
            "UPDATE action_triggers SET next_fire_at = \
             date_trunc('day', now()) - make_interval(days => $1) + interval '6 hours'",
        )
        .bind(days)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn overwrite_step_settings(&self, action: ActionId, settings: &str) -> StoreResult<()> {
        sqlx::query("UPDATE action_steps SET settings = $1 WHERE action_id = $2")
            .bind(settings)
            .bind(action)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn backdate_execution(&self, id: ExecutionId, ended: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE executions SET date_started = date_started - (date_ended - $2), \
               date_ended = $2 WHERE execution_id = $1 AND date_ended IS NOT NULL",
        )
        .bind(id)
        .bind(ended)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn count_execution_steps(&self, id: ExecutionId) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM execution_steps WHERE execution_id = $1")
                .bind(id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn tables_containing(&self, needle: &str) -> StoreResult<Vec<String>> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             ORDER BY table_name",
        )
        .fetch_all(&self.pool)
        .await?;
        // A row as text shows bytea columns as `\x` and lowercase hex.
        let hex: String = needle.bytes().map(|b| format!("{b:02x}")).collect();
        let mut found = Vec::new();
        for table in tables {
            // Names from the catalog, quoted: not caller input.
            let sql = format!(
                "SELECT count(*) FROM \"{table}\" r \
                 WHERE strpos(r::text, $1) > 0 OR strpos(r::text, $2) > 0"
            );
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(needle)
                .bind(&hex)
                .fetch_one(&self.pool)
                .await?;
            if n > 0 {
                found.push(table);
            }
        }
        Ok(found)
    }
}
