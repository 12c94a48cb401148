//! Issue 13's crash test: `actuate standalone` SIGKILLed in the middle of 200 executions
//! (a Python step, then a webhook), restarted, SIGKILLed again while it takes up what the first
//! process left, and restarted once more. Every execution that got a 200 ends, exactly once,
//! Completed; nothing committed is redone (no step completed twice); an execution that was
//! Running at a kill is taken up again, as attempt + 1, right after the next start, not after
//! its lease; a webhook is sent at most once per attempt, and twice only when a kill cut the
//! attempt that sent it.
//!
//! What happened is read from the SQLite file itself: before the first start, triggers are
//! installed that log every claim (attempt + 1), every end of an execution and every step
//! completion, in the same transactions as the product's own writes, so the log holds exactly
//! what was committed. The webhook sink counts deliveries per (execution, attempt), the
//! attempt being in the URL through the `{{execution.attempt}}` template.

use crate::helpers::{
    Standalone, WAIT, base_url, create_action, create_key, data_file, execute, free_port, temp_dir,
};
use actuate_tests::sink::Sink;
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};
use uuid::Uuid;

const EXECUTIONS: usize = 200;

/// The bound on "right after the start": the time from spawning the process to its claim of
/// an execution a killed process left Running. Migrating, warming the Python runners and the
/// recovery take a second or two on a loaded 2-core machine; 10 s is generous for that and
/// still far below the 30 s lease (`ACTUATE_LEASE_SECONDS`' default) after which a reaper
/// would have taken the execution up anyway, and which the reaper does not judge before the
/// new process has been up that long: a claim this early can only come from the start-up's
/// recovery.
const PROMPT: Duration = Duration::from_secs(10);

/// The most time after a restart before the executions a kill left Queued are first claimed:
/// the backlog takes about 4 s here; an outbox lease left by the killed relay would add its
/// 30 s.
const QUEUED_PICKUP: Duration = Duration::from_secs(20);

/// The audit log. The tables have no constraints and the triggers only insert, so they cannot
/// fail the product's statements; `julianday('now')` is the instant of the write, in days.
const AUDIT: &str = "
CREATE TABLE audit_claims (execution_id BLOB, attempt INTEGER, at REAL);
CREATE TABLE audit_ends (execution_id BLOB, status TEXT, attempt INTEGER, at REAL);
CREATE TABLE audit_steps (execution_id BLOB, step_number INTEGER, attempt INTEGER, at REAL);
CREATE TRIGGER audit_claim AFTER UPDATE OF attempt ON executions
  WHEN NEW.attempt IS NOT OLD.attempt
BEGIN
  INSERT INTO audit_claims VALUES (NEW.execution_id, NEW.attempt, julianday('now'));
END;
CREATE TRIGGER audit_end AFTER UPDATE OF status ON executions
  WHEN NEW.status IN ('Completed', 'Failed') AND OLD.status NOT IN ('Completed', 'Failed')
BEGIN
  INSERT INTO audit_ends VALUES (NEW.execution_id, NEW.status, NEW.attempt, julianday('now'));
END;
CREATE TRIGGER audit_step AFTER UPDATE OF status ON execution_steps
  WHEN NEW.status = 'Completed' AND OLD.status IS NOT 'Completed'
BEGIN
  INSERT INTO audit_steps
    VALUES (NEW.execution_id, NEW.step_number, NEW.attempt, julianday('now'));
END;
";

/// A connection to the file beside the running process (WAL: reads do not block its writes).
async fn open(file: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(file)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(10));
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("open the data file")
}

/// The database's clock, as the triggers read it: a julian day.
async fn now(db: &SqlitePool) -> f64 {
    sqlx::query_scalar("SELECT julianday('now')")
        .fetch_one(db)
        .await
        .expect("julianday")
}

fn seconds(from: f64, to: f64) -> f64 {
    (to - from) * 86_400.0
}

/// Executions by status.
async fn counts(db: &SqlitePool) -> BTreeMap<String, i64> {
    sqlx::query_as("SELECT status, count(*) FROM executions GROUP BY status")
        .fetch_all(db)
        .await
        .expect("count executions")
        .into_iter()
        .collect()
}

fn count(counts: &BTreeMap<String, i64>, status: &str) -> i64 {
    counts.get(status).copied().unwrap_or(0)
}

/// What a SIGKILL left in the file.
struct Kill {
    /// The executions it left Running, with their attempt.
    running: HashMap<Uuid, i64>,
    /// The executions it left Queued, with their attempt.
    queued: HashMap<Uuid, i64>,
    counts: BTreeMap<String, i64>,
    /// Outbox rows its relay had leased ('' is "not leased") and not yet deleted as sent.
    leased: i64,
}

impl Kill {
    async fn read(db: &SqlitePool) -> Self {
        let with = |status: &'static str| async move {
            sqlx::query_as("SELECT execution_id, attempt FROM executions WHERE status = $1")
                .bind(status)
                .fetch_all(db)
                .await
                .expect("executions by status")
                .into_iter()
                .collect::<HashMap<Uuid, i64>>()
        };
        Self {
            running: with("Running").await,
            queued: with("Queued").await,
            counts: counts(db).await,
            leased: sqlx::query_scalar("SELECT count(*) FROM outbox WHERE locked_until <> ''")
                .fetch_one(db)
                .await
                .expect("outbox"),
        }
    }
}

/// Polls the file until `ready` accepts the counts by status; `what` names the moment.
async fn until(db: &SqlitePool, what: &str, ready: impl Fn(&BTreeMap<String, i64>) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        let now = counts(db).await;
        if ready(&now) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {WAIT:?}: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Starts the process numbered `run`; returns it and the instant it was spawned.
async fn start(
    dir: &Path,
    db: &SqlitePool,
    run: usize,
    env: &[(&str, &str)],
) -> (Standalone, f64, String) {
    let at = now(db).await;
    let mut process = Standalone::start(dir, free_port(), run, env);
    let banner = process.read_until(|l| l.starts_with("API keys:")).await;
    (process, at, base_url(&banner))
}

#[tokio::test]
async fn sigkilled_twice_during_200_executions_every_one_ends_once() {
    let clock = Instant::now();
    let dir = temp_dir();
    eprintln!(
        "data file and logs in {} (removed when the test passes)",
        dir.display()
    );
    let (tenant, project) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let token = create_key(&dir, &tenant, &project).await;
    let db = open(&data_file(&dir)).await;
    sqlx::raw_sql(AUDIT)
        .execute(&db)
        .await
        .expect("install the audit triggers");
    let sink = Sink::start().await;
    let env = [("ACTUATE_WEBHOOK_ALLOW", "127.0.0.1/32")];
    let client = reqwest::Client::new();
    let mut starts = Vec::new();
    let mut kills = Vec::new();

    // First run: 200 executions, killed once some are Completed while others are Running and
    // the rest still Queued (their messages in the in-process queue, lost with it).
    let (first, at, base) = start(&dir, &db, 1, &env).await;
    starts.push(at);
    assert!(
        base.ends_with(&format!("/api/{tenant}/{project}")),
        "{base}"
    );
    let url = sink.url("/slow/20/{{execution.id}}/{{execution.attempt}}");
    let action = json!({
        "name": "crash",
        "maxRunTime": 600,
        "steps": [
            {"stepType": "Python", "settings": {"code": "import time\ntime.sleep(0.05)\nresult = 1"}},
            {"stepType": "Webhook", "settings": {"url": url}},
        ],
    });
    let action_id = create_action(&client, &base, &token, &action).await;
    let mut ids = Vec::with_capacity(EXECUTIONS);
    for _ in 0..EXECUTIONS {
        let id = execute(&client, &base, &token, &action_id).await;
        ids.push(Uuid::parse_str(&id).expect("execution id"));
    }
    until(&db, "first kill", |c| {
        count(c, "Completed") >= 40 && count(c, "Running") >= 1 && count(c, "Queued") >= 1
    })
    .await;
    let logs = first.logs();
    first.kill().await;
    kills.push(Kill::read(&db).await);
    assert!(
        !kills[0].running.is_empty(),
        "nothing Running at the kill: {:?}\n{logs}",
        kills[0].counts
    );

    // Second run, killed during its recovery: as soon as it has claimed again every execution
    // the first left Running (some of which are then Running under attempt 2).
    let (second, at, _) = start(&dir, &db, 2, &env).await;
    starts.push(at);
    let deadline = Instant::now() + WAIT;
    loop {
        let claimed: HashSet<Uuid> =
            sqlx::query_scalar("SELECT execution_id FROM audit_claims WHERE at >= $1")
                .bind(at)
                .fetch_all(&db)
                .await
                .expect("claims")
                .into_iter()
                .collect();
        let waiting = kills[0]
            .running
            .keys()
            .filter(|id| !claimed.contains(id))
            .count();
        if waiting == 0 && count(&counts(&db).await, "Running") >= 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} of {} not taken up again\n{}",
            kills[0].running.len(),
            second.logs()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let logs = second.logs();
    second.kill().await;
    kills.push(Kill::read(&db).await);
    assert!(
        !kills[1].running.is_empty(),
        "nothing Running at the second kill: {:?}\n{logs}",
        kills[1].counts
    );

    // Third run: everything ends.
    let (third, at, _) = start(&dir, &db, 3, &env).await;
    starts.push(at);
    until(&db, "all ended", |c| {
        count(c, "Completed") + count(c, "Failed") == EXECUTIONS as i64
    })
    .await;
    let logs = third.logs();
    let status = third.terminate().await;
    assert!(status.success(), "{status}\n{logs}");

    check(&db, &ids, &starts, &kills, &sink, clock).await;
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

async fn check(
    db: &SqlitePool,
    ids: &[Uuid],
    starts: &[f64],
    kills: &[Kill],
    sink: &Sink,
    clock: Instant,
) {
    let unique: HashSet<Uuid> = ids.iter().copied().collect();
    assert_eq!(unique.len(), EXECUTIONS, "execution ids repeat");

    // Every execution that got a 200 ended Completed.
    let rows: Vec<(Uuid, String, i64, Option<String>)> =
        sqlx::query_as("SELECT execution_id, status, attempt, notes FROM executions")
            .fetch_all(db)
            .await
            .expect("executions");
    assert_eq!(rows.len(), EXECUTIONS);
    let failed: Vec<_> = rows.iter().filter(|r| r.1 != "Completed").collect();
    assert!(failed.is_empty(), "not Completed: {failed:?}");
    let attempts: HashMap<Uuid, i64> = rows.iter().map(|r| (r.0, r.2)).collect();
    assert_eq!(attempts.keys().copied().collect::<HashSet<_>>(), unique);

    // Each ended once, under its last attempt.
    let ends: Vec<(Uuid, String, i64)> =
        sqlx::query_as("SELECT execution_id, status, attempt FROM audit_ends")
            .fetch_all(db)
            .await
            .expect("ends");
    let mut ended: HashMap<Uuid, Vec<(String, i64)>> = HashMap::new();
    for (id, status, attempt) in ends {
        ended.entry(id).or_default().push((status, attempt));
    }
    for id in ids {
        let want = vec![("Completed".to_string(), attempts[id])];
        assert_eq!(ended.get(id), Some(&want), "ends of {id}");
    }

    // Each step completed once: what a killed process committed was not redone.
    let steps: Vec<(Uuid, i64, i64)> =
        sqlx::query_as("SELECT execution_id, step_number, attempt FROM audit_steps")
            .fetch_all(db)
            .await
            .expect("step completions");
    let mut completed: HashMap<(Uuid, i64), Vec<i64>> = HashMap::new();
    for (id, step, attempt) in steps {
        completed.entry((id, step)).or_default().push(attempt);
    }
    for id in ids {
        for step in [1, 2] {
            let under = completed.get(&(*id, step)).cloned().unwrap_or_default();
            assert_eq!(under.len(), 1, "{id} step {step} completed under {under:?}");
        }
        assert_eq!(completed[&(*id, 2)], vec![attempts[id]], "{id}");
    }
    assert_eq!(completed.len(), 2 * EXECUTIONS);

    // Claims: attempts 1, 2, ... once each; one more per kill that found the execution
    // Running, and none else (no lease ran out); the one after a kill right after the start.
    let claims: Vec<(Uuid, i64, f64)> =
        sqlx::query_as("SELECT execution_id, attempt, at FROM audit_claims")
            .fetch_all(db)
            .await
            .expect("claims");
    let mut claimed: HashMap<Uuid, BTreeMap<i64, f64>> = HashMap::new();
    for (id, attempt, at) in claims {
        let again = claimed.entry(id).or_default().insert(attempt, at);
        assert!(again.is_none(), "{id} claimed twice as attempt {attempt}");
    }
    for id in ids {
        let cut = kills.iter().filter(|k| k.running.contains_key(id)).count() as i64;
        assert_eq!(attempts[id], 1 + cut, "{id}: attempts");
        let got: Vec<i64> = claimed[id].keys().copied().collect();
        assert_eq!(got, (1..=attempts[id]).collect::<Vec<_>>(), "{id}: claims");
    }
    let mut delays = Vec::new();
    for (k, kill) in kills.iter().enumerate() {
        let restart = starts[k + 1];
        let mut slowest: f64 = 0.0;
        for (id, attempt) in &kill.running {
            let at = claimed[id][&(attempt + 1)];
            let delay = seconds(restart, at);
            assert!(
                (0.0..PROMPT.as_secs_f64()).contains(&delay),
                "{id}, Running at kill {}, claimed again {delay:.2} s after the restart",
                k + 1
            );
            slowest = slowest.max(delay);
        }
        delays.push(slowest);
    }
    // How long after a restart the executions a kill left Queued were first claimed (those
    // still Queued at a later kill counted there): the backlog's pace (about 4 s here), and no
    // stall. A message the killed process's relay had leased in the outbox but not yet marked
    // sent once waited out that lease (30 s): a start now releases such leases at once.
    let mut pickups = Vec::new();
    for (k, kill) in kills.iter().enumerate() {
        let restart = starts[k + 1];
        let later = starts.get(k + 2).copied().unwrap_or(f64::INFINITY);
        let slowest = kill
            .queued
            .iter()
            .map(|(id, attempt)| claimed[id][&(attempt + 1)])
            .filter(|at| *at < later)
            .map(|at| seconds(restart, at))
            .fold(0.0, f64::max);
        assert!(
            slowest < QUEUED_PICKUP.as_secs_f64(),
            "executions Queued at kill {} were first claimed up to {slowest:.2} s after the \
             restart ({} outbox rows were leased at the kill)",
            k + 1,
            kill.leased
        );
        pickups.push(slowest);
    }

    // Webhooks: at most one delivery per attempt, one under the attempt that completed the
    // step, and others only under attempts a kill cut.
    let mut deliveries: HashMap<(Uuid, i64), usize> = HashMap::new();
    let requests = sink.requests();
    for request in &requests {
        let parts: Vec<&str> = request.path.split('/').collect();
        let [_, "slow", _, id, attempt] = parts[..] else {
            panic!("unexpected delivery {}", request.path);
        };
        let id = Uuid::parse_str(id).expect("id in the path");
        assert_eq!(
            request.header("x-actuate-execution-id"),
            Some(id.to_string().as_str())
        );
        let attempt: i64 = attempt.parse().expect("attempt in the path");
        *deliveries.entry((id, attempt)).or_default() += 1;
    }
    let mut twice = 0;
    for (&(id, attempt), &n) in &deliveries {
        assert_eq!(n, 1, "{id} attempt {attempt}: {n} deliveries");
        if attempt != attempts[&id] {
            assert!(
                kills.iter().any(|k| k.running.get(&id) == Some(&attempt)),
                "{id}: delivered under attempt {attempt}, which no kill cut"
            );
            twice += 1;
        }
    }
    for id in ids {
        assert!(
            deliveries.contains_key(&(*id, attempts[id])),
            "{id}: no delivery"
        );
    }

    let mut by_attempt = BTreeMap::new();
    for attempt in attempts.values() {
        *by_attempt.entry(attempt).or_insert(0) += 1;
    }
    for (k, kill) in kills.iter().enumerate() {
        eprintln!(
            "kill {}: {:?}, {} leased outbox rows; after the restart, those Running claimed \
             again within {:.2} s, those Queued first claimed within {:.2} s",
            k + 1,
            kill.counts,
            kill.leased,
            delays[k],
            pickups[k]
        );
    }
    eprintln!(
        "{EXECUTIONS} executions all Completed once; executions by attempts {by_attempt:?}; \
         {} webhook deliveries, {twice} of them repeating one a kill cut; {:.1} s",
        requests.len(),
        clock.elapsed().as_secs_f64()
    );
}
