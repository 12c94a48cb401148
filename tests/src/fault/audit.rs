//! What the database itself saw. Triggers installed on the scenario's database (after the
//! migrations, before any load) log every transition of an execution into or out of a
//! terminal status, and every step completion with the attempt that wrote it and the
//! execution's attempt at that moment. From those and the rows themselves come the checks:
//! lost, stuck, ended more than once, stale writes (a step completed by an attempt older than
//! the execution's: the fence failed), re-runs.

use sqlx::PgPool;
use std::collections::HashSet;

const TRIGGERS: &str = r#"
CREATE TABLE fault_audit (
    id bigserial PRIMARY KEY,
    execution_id uuid NOT NULL,
    kind text NOT NULL,
    attempt integer,
    current_attempt integer,
    status text
);
CREATE FUNCTION fault_audit_execution() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IN ('Completed', 'Failed') AND OLD.status NOT IN ('Completed', 'Failed') THEN
    INSERT INTO fault_audit (execution_id, kind, attempt, status)
    VALUES (NEW.execution_id, 'ended', NEW.attempt, NEW.status);
  ELSIF OLD.status IN ('Completed', 'Failed') AND NEW.status IS DISTINCT FROM OLD.status THEN
    INSERT INTO fault_audit (execution_id, kind, attempt, status)
    VALUES (NEW.execution_id, 'reopened', NEW.attempt, NEW.status);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fault_audit_execution AFTER UPDATE ON executions
  FOR EACH ROW EXECUTE FUNCTION fault_audit_execution();
CREATE FUNCTION fault_audit_step() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'Completed' AND OLD.status IS DISTINCT FROM 'Completed' THEN
    INSERT INTO fault_audit (execution_id, kind, attempt, current_attempt, status)
    SELECT NEW.execution_id, 'step', NEW.attempt, e.attempt, e.status FROM executions e
    WHERE e.tenant_id = NEW.tenant_id AND e.project_id = NEW.project_id
      AND e.execution_id = NEW.execution_id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fault_audit_step AFTER UPDATE ON execution_steps
  FOR EACH ROW EXECUTE FUNCTION fault_audit_step();
"#;

pub async fn install(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::raw_sql(TRIGGERS).execute(pool).await?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct Findings {
    pub completed: u64,
    /// Acknowledged but missing, or ended Failed.
    pub lost: u64,
    /// Still Queued or Running.
    pub stuck: u64,
    pub ended_twice: u64,
    pub stale_writes: u64,
    /// Executions that took more than one attempt.
    pub rerun: u64,
    /// Notes of a few failed executions, to say why.
    pub failed_notes: Vec<String>,
}

/// How many of `acknowledged` are not Completed or Failed yet.
pub async fn unfinished(pool: &PgPool, acknowledged: &[String]) -> anyhow::Result<u64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM unnest($1::uuid[]) a(id) LEFT JOIN executions e \
         ON e.execution_id = a.id WHERE e.status IS NULL OR e.status IN ('Queued', 'Running')",
    )
    .bind(acknowledged)
    .fetch_one(pool)
    .await?;
    Ok(n as u64)
}

pub async fn check(pool: &PgPool, acknowledged: &[String]) -> anyhow::Result<Findings> {
    let rows: Vec<(Option<String>, Option<i32>, Option<String>)> = sqlx::query_as(
        "SELECT e.status, e.attempt, e.notes FROM unnest($1::uuid[]) a(id) \
         LEFT JOIN executions e ON e.execution_id = a.id",
    )
    .bind(acknowledged)
    .fetch_all(pool)
    .await?;
    let mut findings = Findings::default();
    for (status, attempt, notes) in &rows {
        match status.as_deref() {
            Some("Completed") => findings.completed += 1,
            Some("Queued" | "Running") => findings.stuck += 1,
            Some(_) | None => {
                findings.lost += 1;
                if findings.failed_notes.len() < 3 {
                    findings
                        .failed_notes
                        .push(notes.clone().unwrap_or_else(|| "no such execution".into()));
                }
            }
        }
        if attempt.is_some_and(|a| a > 1) {
            findings.rerun += 1;
        }
    }
    let ended: Vec<(String, i64)> = sqlx::query_as(
        "SELECT execution_id::text, count(*) FROM fault_audit \
         WHERE kind IN ('ended', 'reopened') GROUP BY execution_id",
    )
    .fetch_all(pool)
    .await?;
    findings.ended_twice = ended.iter().filter(|(_, n)| *n > 1).count() as u64;
    let stale: HashSet<String> = sqlx::query_scalar(
        "SELECT execution_id::text FROM fault_audit \
         WHERE kind = 'step' AND attempt < current_attempt",
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();
    findings.stale_writes = stale.len() as u64;
    Ok(findings)
}
