//! The hot path must find one execution through its primary key whatever the planner knows.
//! Test databases are never analyzed (and this machine runs PostgreSQL with autovacuum off),
//! which is exactly when a competing index once won and made every claim and finish scan the
//! whole queue or project. Index usage is read from PostgreSQL's statistics views, not timed.

use crate::helpers::{TestWorker, two_unreached_webhooks};
use actuate_shared::storage::{ClaimOutcome, FinalOutcome, FinalStep, StepResult, WorkStore};
use serde_json::json;
use sqlx::Connection;
use std::collections::HashMap;
use std::time::Duration;

const EXECUTIONS: i64 = 300;

#[tokio::test]
async fn claims_and_finishes_use_the_primary_key_without_statistics() {
    // PostgreSQL's planner is what this checks, whatever the suite's backend.
    let worker = TestWorker::start_postgres().await;
    let pg = worker.pg.clone().expect("a PostgreSQL store");
    let action = worker.action(&two_unreached_webhooks(), 600).await;
    let mut messages = Vec::new();
    for _ in 0..EXECUTIONS {
        messages.push(worker.execute(action).await);
    }
    let step = |n| StepResult {
        succeeded: true,
        output: Some(json!({"step": n})),
        log: None,
        error: None,
    };
    for message in &messages {
        let store = &pg;
        let lease = Duration::from_secs(60);
        let ClaimOutcome::Claimed(claimed) = store
            .claim_execution(worker.scope, message.execution_id, "w", lease)
            .await
            .unwrap()
        else {
            panic!("not claimed")
        };
        let fence = claimed.fence;
        assert!(store.heartbeat(fence, lease).await.unwrap());
        assert!(store.finish_step(fence, 1, step(1), 2).await.unwrap());
        let last = FinalStep {
            step_number: 2,
            result: step(2),
        };
        assert!(
            store
                .finish_execution(fence, FinalOutcome::Completed, Some(last))
                .await
                .unwrap()
        );
        // A late duplicate delivery finds the execution through the key too.
        let again = store
            .claim_execution(worker.scope, message.execution_id, "w", lease)
            .await
            .unwrap();
        assert!(matches!(again, ClaimOutcome::NotQueued(_)), "{again:?}");
    }
    let detail = worker.detail(messages[0].execution_id).await;
    assert_eq!(detail.steps[1].output, Some(json!({"step": 2})));

    // Closing the pool ends its server processes, which flush their statistics as they exit.
    pg.pool().close().await;
    let scans = index_scans(&worker.database_url, EXECUTIONS * 5).await;
    // Creating the action read it back once, with its status and last run: the one use the
    // per-action indexes are for.
    for (competitor, allowed) in [
        ("executions_by_action", 0),
        ("executions_queued", 0),
        ("executions_running", 0),
        ("executions_running_by_action", 1),
        ("executions_finished_by_action", 1),
    ] {
        assert_eq!(scans[competitor], allowed, "{competitor}: {scans:?}");
    }
    // Migrations scanned the empty tables to build indexes; nothing else may read them whole.
    let seq_scans: Vec<(String, i64)> = sqlx::query_as(
        "SELECT relname::text, seq_tup_read FROM pg_stat_user_tables \
         WHERE relname IN ('executions', 'execution_steps') ORDER BY relname",
    )
    .fetch_all(&mut stats_connection(&worker.database_url).await)
    .await
    .unwrap();
    assert_eq!(
        seq_scans,
        vec![("execution_steps".into(), 0), ("executions".into(), 0)]
    );
}

async fn stats_connection(database_url: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(database_url).await.unwrap()
}

/// Index scans per index of `executions`, once the primary key has at least `expected`
/// (statistics arrive shortly after the server processes exit).
async fn index_scans(database_url: &str, expected: i64) -> HashMap<String, i64> {
    let mut conn = stats_connection(database_url).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT indexrelname::text, idx_scan FROM pg_stat_user_indexes \
             WHERE relname = 'executions'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let scans: HashMap<String, i64> = rows.into_iter().collect();
        if scans["executions_pkey"] >= expected {
            return scans;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "statistics never arrived: {scans:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
