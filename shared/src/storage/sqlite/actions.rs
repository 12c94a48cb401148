//! Actions with their steps and triggers. An action's `actionStatus`, `lastRunTime` and
//! `lastRunResult` are derived from its executions when read, as on PostgreSQL.

use super::writer::Write;
use super::{SqliteStore, decode, is_unique_violation, now};
use crate::domain::draft::{ActionDraft, ActionPatch, Concurrency, StepDraft, TriggerDraft};
use crate::domain::ids::{ActionId, KeyId, Scope, StepId, TriggerId};
use crate::domain::model::Action;
use crate::domain::names::EventName;
use crate::storage::rows::{self, ActionRow, StepRow, TriggerRow};
use crate::storage::{ActionPage, ActionStore, StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Sqlite;
use sqlx::sqlite::SqliteConnection;
use std::collections::HashMap;

macro_rules! scoped {
    () => {
        " WHERE tenant_id = $1 AND project_id = $2 AND ($3 IS NULL OR action_id = $3)"
    };
}
/// The last finished execution of `a`, for `lastRunTime` and `lastRunResult`.
macro_rules! last_finished {
    ($column:literal) => {
        concat!(
            "(SELECT ",
            $column,
            " FROM executions f WHERE f.action_id = a.action_id AND f.tenant_id = a.tenant_id \
               AND f.project_id = a.project_id AND f.date_ended IS NOT NULL \
             ORDER BY f.date_ended DESC LIMIT 1)"
        )
    };
}
/// The page of actions the action query reads (`$3`: one action or all, `$4`, `$5`: after
/// this creation time and id, `$6`: at most so many), for the steps and triggers queries.
macro_rules! in_page {
    () => {
        " WHERE tenant_id = $1 AND project_id = $2 AND action_id IN (SELECT a.action_id \
           FROM actions a WHERE a.tenant_id = $1 AND a.project_id = $2 \
             AND ($3 IS NULL OR a.action_id = $3) AND ($4 IS NULL OR (a.date_created, a.action_id) > ($4, $5)) \
           ORDER BY a.date_created, a.action_id LIMIT $6)"
    };
}
const SELECT_ACTIONS: &str = concat!(
    "SELECT a.action_id, a.project_id, a.name, a.description, a.is_enabled, a.max_run_time, \
       a.retention_days, a.max_concurrency, a.concurrency_key, \
       CASE WHEN EXISTS (SELECT 1 FROM executions r WHERE r.action_id = a.action_id \
         AND r.tenant_id = a.tenant_id AND r.project_id = a.project_id \
         AND r.status = 'Running') THEN 'Running' ELSE 'Idle' END AS action_status, \
       CASE WHEN a.is_enabled THEN (SELECT min(n.next_fire_at) FROM action_triggers n \
         WHERE n.action_id = a.action_id AND n.tenant_id = a.tenant_id \
           AND n.project_id = a.project_id) END AS next_run_time, ",
    last_finished!("f.date_started"),
    " AS last_run_time, ",
    last_finished!("CASE f.status WHEN 'Completed' THEN 'Success' ELSE 'Failed' END"),
    " AS last_run_result, \
       a.date_created, a.date_modified, a.created_by, a.modified_by \
     FROM actions a \
     WHERE a.tenant_id = $1 AND a.project_id = $2 AND ($3 IS NULL OR a.action_id = $3) \
      AND ($4 IS NULL OR (a.date_created, a.action_id) > ($4, $5)) \
     ORDER BY a.date_created, a.action_id LIMIT $6"
);
const SELECT_STEPS: &str = concat!(
    "SELECT step_id, action_id, step_number, step_type, description, settings, retry, \
       date_created \
     FROM action_steps",
    in_page!(),
    " ORDER BY action_id, step_number"
);
const SELECT_TRIGGERS: &str = concat!(
    "SELECT trigger_id, action_id, trigger_type, settings, frequency, event_name, start_date, \
     date_created FROM action_triggers",
    in_page!(),
    " ORDER BY action_id, date_created, trigger_id"
);

/// Loads actions with their steps and triggers in three queries, whatever their number.
async fn load_actions(
    conn: &mut SqliteConnection,
    scope: Scope,
    only: Option<ActionId>,
    page: ActionPage,
) -> StoreResult<Vec<Action>> {
    let rows: Vec<ActionRow> = sqlx::query_as(SELECT_ACTIONS)
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(only)
        .bind(page.after.map(|c| c.at))
        .bind(page.after.map(|c| c.id))
        .bind(page.limit)
        .fetch_all(&mut *conn)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let step_rows: Vec<StepRow> = sqlx::query_as(SELECT_STEPS)
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(only)
        .bind(page.after.map(|c| c.at))
        .bind(page.after.map(|c| c.id))
        .bind(page.limit)
        .fetch_all(&mut *conn)
        .await?;
    let trigger_rows: Vec<TriggerRow> = sqlx::query_as(SELECT_TRIGGERS)
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(only)
        .bind(page.after.map(|c| c.at))
        .bind(page.after.map(|c| c.id))
        .bind(page.limit)
        .fetch_all(&mut *conn)
        .await?;

    rows::actions(rows, step_rows, trigger_rows)
}

async fn insert_steps(
    conn: &mut SqliteConnection,
    scope: Scope,
    action_id: ActionId,
    steps: &[StepDraft],
    created: &HashMap<StepId, DateTime<Utc>>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    for step in steps {
        let step_id = step.step_id.unwrap_or_default();
        sqlx::query(
            "INSERT INTO action_steps (tenant_id, project_id, action_id, step_id, step_number, \
             step_type, description, settings, date_created, retry) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(action_id)
        .bind(step_id)
        .bind(step.step_number)
        .bind(step.step_type.as_str())
        .bind(&step.description)
        .bind(&step.settings)
        .bind(created.get(&step_id).copied().unwrap_or(at))
        .bind(
            step.retry
                .map(|r| serde_json::to_string(&r).expect("a policy serialises")),
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn insert_triggers(
    conn: &mut SqliteConnection,
    scope: Scope,
    action_id: ActionId,
    triggers: &[TriggerDraft],
    created: &HashMap<TriggerId, DateTime<Utc>>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    for trigger in triggers {
        let trigger_id = trigger.trigger_id.unwrap_or_default();
        sqlx::query(
            "INSERT INTO action_triggers (tenant_id, project_id, action_id, trigger_id, \
             trigger_type, settings, frequency, event_name, start_date, date_created, \
             next_fire_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(action_id)
        .bind(trigger_id)
        .bind(trigger.trigger_type.as_str())
        .bind(&trigger.settings)
        .bind(trigger.frequency)
        .bind(trigger.event_name.as_ref().map(EventName::as_str))
        .bind(trigger.start_date.unwrap_or_else(|| at.date_naive()))
        .bind(created.get(&trigger_id).copied().unwrap_or(at))
        .bind(trigger.next_fire_after(at))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Deletes an action's steps (or triggers, per `sql`) and returns their ids with creation
/// times, so entries named again keep both.
async fn take_entries<Id>(
    conn: &mut SqliteConnection,
    sql: &'static str,
    scope: Scope,
    action_id: ActionId,
) -> StoreResult<HashMap<Id, DateTime<Utc>>>
where
    Id: Eq + std::hash::Hash + Send + Unpin + for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    Ok(sqlx::query_as::<_, (Id, DateTime<Utc>)>(sql)
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .bind(action_id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect())
}

/// Replaces an action's steps: entries naming a step of this action keep its id and creation
/// time; entries naming any other id are refused, so ids cannot be taken from another action.
async fn replace_steps(
    conn: &mut SqliteConnection,
    scope: Scope,
    action_id: ActionId,
    steps: &[StepDraft],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let sql = concat!(
        "DELETE FROM action_steps",
        scoped!(),
        " RETURNING step_id, date_created"
    );
    let existing: HashMap<StepId, _> = take_entries(conn, sql, scope, action_id).await?;
    let named = steps.iter().filter_map(|s| s.step_id);
    if let Some(unknown) = named.into_iter().find(|id| !existing.contains_key(id)) {
        return Err(StoreError::UnknownStep(unknown));
    }
    insert_steps(conn, scope, action_id, steps, &existing, at).await
}

/// As [`replace_steps`], for triggers.
async fn replace_triggers(
    conn: &mut SqliteConnection,
    scope: Scope,
    action_id: ActionId,
    triggers: &[TriggerDraft],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let sql = concat!(
        "DELETE FROM action_triggers",
        scoped!(),
        " RETURNING trigger_id, date_created"
    );
    let existing: HashMap<TriggerId, _> = take_entries(conn, sql, scope, action_id).await?;
    let named = triggers.iter().filter_map(|t| t.trigger_id);
    if let Some(unknown) = named.into_iter().find(|id| !existing.contains_key(id)) {
        return Err(StoreError::UnknownTrigger(unknown));
    }
    insert_triggers(conn, scope, action_id, triggers, &existing, at).await
}

/// Enabling an action starts its schedules afresh from now: no burst of slots that passed
/// while it was disabled.
async fn restart_schedules(
    conn: &mut SqliteConnection,
    scope: Scope,
    action_id: ActionId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let rows: Vec<(TriggerId, String, i32, Option<NaiveDate>, String)> = sqlx::query_as(concat!(
        "SELECT trigger_id, trigger_type, frequency, start_date, settings FROM action_triggers",
        scoped!()
    ))
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(action_id)
    .fetch_all(&mut *conn)
    .await?;
    for (trigger_id, trigger_type, frequency, start_date, settings) in rows {
        let draft = TriggerDraft {
            trigger_id: Some(trigger_id),
            trigger_type: decode("trigger_type", &trigger_type)?,
            settings,
            frequency,
            event_name: None,
            start_date,
        };
        super::schedule::set_next(conn, scope, trigger_id, draft.next_fire_after(now)).await?;
    }
    Ok(())
}

fn name_taken(err: sqlx::Error) -> StoreError {
    if is_unique_violation(&err, "actions.name") {
        StoreError::NameTaken
    } else {
        StoreError::Database(err)
    }
}

#[async_trait]
impl ActionStore for SqliteStore {
    async fn list_actions(&self, scope: Scope, page: ActionPage) -> StoreResult<Vec<Action>> {
        load_actions(&mut *self.reader.acquire().await?, scope, None, page).await
    }

    async fn count_actions(&self, scope: Scope) -> StoreResult<i64> {
        let count: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM actions WHERE tenant_id = $1 AND project_id = $2",
        )
        .bind(scope.tenant_id)
        .bind(scope.project_id)
        .fetch_one(&self.reader)
        .await?;
        Ok(count)
    }

    async fn get_action(&self, scope: Scope, action_id: ActionId) -> StoreResult<Option<Action>> {
        let mut conn = self.reader.acquire().await?;
        Ok(
            load_actions(&mut conn, scope, Some(action_id), ActionPage::ALL)
                .await?
                .pop(),
        )
    }

    async fn create_action(
        &self,
        scope: Scope,
        draft: ActionDraft,
        by: KeyId,
    ) -> StoreResult<Action> {
        self.writer
            .write(move |conn| Box::pin(create(conn, scope, draft, by)))
            .await
    }

    async fn update_action(
        &self,
        scope: Scope,
        action_id: ActionId,
        patch: ActionPatch,
        by: KeyId,
    ) -> StoreResult<Option<Action>> {
        self.writer
            .write(move |conn| Box::pin(update(conn, scope, action_id, patch, by)))
            .await
    }

    async fn delete_action(&self, scope: Scope, action_id: ActionId) -> StoreResult<bool> {
        self.writer
            .write(move |conn| {
                Box::pin(async move {
                    let done = sqlx::query(
                        "DELETE FROM actions \
                         WHERE tenant_id = $1 AND project_id = $2 AND action_id = $3",
                    )
                    .bind(scope.tenant_id)
                    .bind(scope.project_id)
                    .bind(action_id)
                    .execute(conn)
                    .await?;
                    Ok(Write::Keep(done.rows_affected() == 1))
                })
            })
            .await
    }
}

async fn create(
    conn: &mut SqliteConnection,
    scope: Scope,
    draft: ActionDraft,
    by: KeyId,
) -> StoreResult<Write<Action>> {
    let at = now();
    let action_id = ActionId::new();
    sqlx::query(
        "INSERT INTO actions (tenant_id, project_id, action_id, name, description, \
         is_enabled, max_run_time, date_created, date_modified, created_by, modified_by, \
         retention_days, max_concurrency, concurrency_key, concurrency_key_path, \
         concurrency_limit) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $9, $10, $11, $12, $13, $14)",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(action_id)
    .bind(&draft.name)
    .bind(&draft.description)
    .bind(draft.is_enabled)
    .bind(draft.max_run_time)
    .bind(at)
    .bind(by)
    .bind(draft.retention_days)
    .bind(draft.concurrency.max)
    .bind(draft.concurrency.key.as_ref().map(|k| k.template.clone()))
    .bind(draft.concurrency.key.as_ref().map(|k| k.path.sqlite_path()))
    .bind(draft.concurrency.limit())
    .execute(&mut *conn)
    .await
    .map_err(name_taken)?;
    // A new action's entries always get new ids, whatever the body said.
    let steps: Vec<StepDraft> = draft
        .steps
        .into_iter()
        .map(|s| StepDraft { step_id: None, ..s })
        .collect();
    let triggers: Vec<TriggerDraft> = draft
        .triggers
        .into_iter()
        .map(|t| TriggerDraft {
            trigger_id: None,
            ..t
        })
        .collect();
    insert_steps(conn, scope, action_id, &steps, &HashMap::new(), at).await?;
    insert_triggers(conn, scope, action_id, &triggers, &HashMap::new(), at).await?;
    let action = load_actions(conn, scope, Some(action_id), ActionPage::ALL)
        .await?
        .pop();
    Ok(Write::Keep(
        action.ok_or(StoreError::Database(sqlx::Error::RowNotFound))?,
    ))
}

async fn update(
    conn: &mut SqliteConnection,
    scope: Scope,
    action_id: ActionId,
    patch: ActionPatch,
    by: KeyId,
) -> StoreResult<Write<Option<Action>>> {
    let at = now();
    let current: Option<(bool, Option<i32>, Option<String>)> = sqlx::query_as(
        "SELECT is_enabled, max_concurrency, concurrency_key FROM actions \
         WHERE tenant_id = $1 AND project_id = $2 AND action_id = $3",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(action_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((was_enabled, max, template)) = current else {
        return Ok(Write::Discard(None));
    };
    // The limit as patched, decided here once: the stored columns follow from it.
    let concurrency = Concurrency::from_stored(max, template)
        .map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?
        .patched(&patch);
    sqlx::query(
        "UPDATE actions SET \
           name = COALESCE($4, name), \
           description = CASE WHEN $5 THEN $6 ELSE description END, \
           is_enabled = COALESCE($7, is_enabled), \
           max_run_time = COALESCE($8, max_run_time), \
           retention_days = CASE WHEN $11 THEN $12 ELSE retention_days END, \
           max_concurrency = $13, concurrency_key = $14, concurrency_key_path = $15, \
           concurrency_limit = $16, \
           date_modified = $9, modified_by = $10 \
         WHERE tenant_id = $1 AND project_id = $2 AND action_id = $3",
    )
    .bind(scope.tenant_id)
    .bind(scope.project_id)
    .bind(action_id)
    .bind(&patch.name)
    .bind(patch.description.is_some())
    .bind(&patch.description)
    .bind(patch.is_enabled)
    .bind(patch.max_run_time)
    .bind(at)
    .bind(by)
    .bind(patch.retention_days.is_some())
    .bind(patch.retention_days.flatten())
    .bind(concurrency.max)
    .bind(concurrency.key.as_ref().map(|k| k.template.clone()))
    .bind(concurrency.key.as_ref().map(|k| k.path.sqlite_path()))
    .bind(concurrency.limit())
    .execute(&mut *conn)
    .await
    .map_err(name_taken)?;
    if patch.max_concurrency.is_some() || patch.concurrency_key.is_some() {
        super::concurrency::follow_limit(conn, scope, action_id, &concurrency).await?;
    }
    if let Some(steps) = &patch.steps {
        replace_steps(conn, scope, action_id, steps, at).await?;
    }
    if let Some(triggers) = &patch.triggers {
        replace_triggers(conn, scope, action_id, triggers, at).await?;
    } else if patch.is_enabled == Some(true) && !was_enabled {
        restart_schedules(conn, scope, action_id, at).await?;
    }
    Ok(Write::Keep(
        load_actions(conn, scope, Some(action_id), ActionPage::ALL)
            .await?
            .pop(),
    ))
}
