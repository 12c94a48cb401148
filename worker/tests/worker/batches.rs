//! Group commit on PostgreSQL: executes, claims, step results and finishes asked for at the same time are
//! written together, a few commits for many items, and each item keeps its own answer. A stale
//! item in a batch is fenced out alone, a duplicate claim is claimed once, and an item whose
//! data the database refuses fails alone while the rest of its batch lands. The commits are
//! counted from the rows themselves: rows written by one transaction share its `xmin`.

use crate::helpers::{TestWorker, two_unreached_webhooks};
use actuate_shared::domain::draft::ActionPatch;
use actuate_shared::domain::ids::{ActionId, ExecutionId, KeyId, ProjectId, Scope, TenantId};
use actuate_shared::domain::model::{ExecutionStatus, StepRunStatus, TriggerKind};
use actuate_shared::storage::{
    ActionStore, ClaimOutcome, ExecuteOutcome, ExecutionStore, Fence, FinalOutcome, FinalStep,
    NewExecution, PgStore, StepResult, WorkStore,
};
use futures_util::future::join_all;
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

const EXECUTIONS: usize = 48;
const LEASE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn concurrent_writes_share_commits_and_keep_their_own_answers() {
    let worker = TestWorker::start_postgres().await;
    let pg = worker.pg.clone().expect("a PostgreSQL store");
    let action = worker.action(&two_unreached_webhooks(), 600).await;
    let mut ids = Vec::new();
    for _ in 0..EXECUTIONS {
        ids.push(worker.execute(action).await.execution_id);
    }

    // Every claim at once, the first execution named twice: it is claimed once.
    let mut named = ids.clone();
    named.push(ids[0]);
    let claims = join_all(
        named
            .iter()
            .map(|id| pg.claim_execution(worker.scope, *id, "w", LEASE)),
    )
    .await;
    let mut fences = Vec::new();
    let mut duplicates = 0;
    for claim in claims {
        match claim.unwrap() {
            ClaimOutcome::Claimed(claimed) => {
                assert_eq!(claimed.fence.attempt, 1);
                assert_eq!(claimed.steps.len(), 2);
                fences.push(claimed.fence);
            }
            ClaimOutcome::NotQueued(ExecutionStatus::Running) => duplicates += 1,
            other => panic!("unexpected claim outcome {other:?}"),
        }
    }
    assert_eq!((fences.len(), duplicates), (EXECUTIONS, 1));
    let commits = xmins(&pg, CLAIMED, &ids).await.len();
    assert!(
        commits < EXECUTIONS / 4,
        "{commits} commits for {EXECUTIONS} claims"
    );

    // Every first step's result at once, and beside them the claims of more executions: both
    // kinds share commits. Every fourth result carries a stale attempt and is fenced out alone.
    let mut later = Vec::new();
    for _ in 0..EXECUTIONS / 2 {
        later.push(worker.execute(action).await.execution_id);
    }
    let stale = |i: usize| i.is_multiple_of(4);
    let (results, later_claims) = tokio::join!(
        join_all(fences.iter().enumerate().map(|(i, fence)| {
            let fence = Fence {
                attempt: fence.attempt + i32::from(stale(i)),
                ..*fence
            };
            pg.finish_step(fence, 1, success(json!({"n": i})), 2)
        })),
        join_all(
            later
                .iter()
                .map(|id| pg.claim_execution(worker.scope, *id, "w", LEASE))
        ),
    );
    for (i, recorded) in results.into_iter().enumerate() {
        assert_eq!(recorded.unwrap(), !stale(i), "step result {i}");
    }
    for claim in later_claims {
        assert!(matches!(claim.unwrap(), ClaimOutcome::Claimed(_)));
    }
    let (started, claimed) = (
        xmins(&pg, NEXT_STEP_STARTED, &ids).await,
        xmins(&pg, CLAIMED, &later).await,
    );
    let writes = EXECUTIONS + later.len();
    let commits = started.union(&claimed).count();
    assert!(
        commits < writes / 4,
        "{commits} commits for {writes} step results and claims"
    );
    assert!(
        !started.is_disjoint(&claimed),
        "no commit held both kinds: {started:?} {claimed:?}"
    );

    // Every finish at once, of the executions whose result landed (a worker fenced out stops
    // there). One last step's output holds what PostgreSQL refuses (a NUL in JSON text), so
    // its batch is refused and written again item by item.
    let refused = 1;
    let finishing: Vec<usize> = (0..EXECUTIONS).filter(|i| !stale(*i)).collect();
    let finishes = join_all(finishing.iter().map(|&i| {
        let output = if i == refused {
            json!({"text": "a\u{0}b"})
        } else {
            json!({"last": i})
        };
        let last = FinalStep {
            step_number: 2,
            result: success(output),
        };
        pg.finish_execution(fences[i], FinalOutcome::Completed, Some(last))
    }))
    .await;
    for (&i, ended) in finishing.iter().zip(finishes) {
        match ended {
            Err(e) => {
                assert_eq!(i, refused, "only the refused item fails: {e}");
                assert!(e.is_data_error(), "{e}");
            }
            Ok(ended) => {
                assert_ne!(i, refused);
                assert!(ended, "finish {i}");
            }
        }
    }

    for (i, id) in ids.iter().enumerate() {
        let detail = worker.detail(*id).await;
        if stale(i) || i == refused {
            assert_eq!(detail.execution.status, ExecutionStatus::Running, "{i}");
            continue;
        }
        assert_eq!(detail.execution.status, ExecutionStatus::Completed, "{i}");
        assert_eq!(detail.steps[0].status, StepRunStatus::Completed, "{i}");
        assert_eq!(detail.steps[0].output, Some(json!({"n": i})));
        assert_eq!(detail.steps[1].status, StepRunStatus::Completed, "{i}");
        assert_eq!(detail.steps[1].output, Some(json!({"last": i})));
    }
    // The refused item's execution is still ours to finish, with a storable result.
    let last = FinalStep {
        step_number: 2,
        result: success(json!({"text": "ab"})),
    };
    assert!(
        pg.finish_execution(fences[refused], FinalOutcome::Completed, Some(last))
            .await
            .unwrap()
    );
}

fn success(output: serde_json::Value) -> StepResult {
    StepResult {
        succeeded: true,
        output: Some(output),
        log: None,
        error: None,
    }
}

#[tokio::test]
async fn concurrent_executes_share_commits_and_keep_their_answers() {
    let worker = TestWorker::start_postgres().await;
    let pg = worker.pg.clone().expect("a PostgreSQL store");
    let steps = two_unreached_webhooks();
    let enabled = worker.action(&steps, 600).await;
    let disabled = worker.action(&steps, 600).await;
    let patch = ActionPatch {
        is_enabled: Some(false),
        ..ActionPatch::default()
    };
    pg.update_action(worker.scope, disabled, patch, KeyId::new())
        .await
        .unwrap()
        .unwrap();
    let missing = ActionId::new();
    // Another project's action is missing in this scope, even in a shared batch.
    let elsewhere = Scope {
        tenant_id: TenantId::new(),
        project_id: ProjectId::new(),
    };
    let foreign = worker.action_in(elsewhere, &steps, 600).await;

    let named: Vec<ActionId> = (0..EXECUTIONS)
        .map(|i| match i {
            5 => disabled,
            6 => missing,
            7 => foreign,
            _ => enabled,
        })
        .collect();
    let outcomes = join_all(named.iter().enumerate().map(|(i, action)| {
        let request = NewExecution {
            trigger: TriggerKind::Manual,
            input: Some(json!({"n": i})),
            idempotency_key: None,
            run_at: None,
            rerun_of: None,
            trace_parent: None,
            audit: None,
        };
        pg.create_execution(worker.scope, *action, request)
    }))
    .await;
    let mut created = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match (i, outcome.unwrap()) {
            (5, ExecuteOutcome::ActionDisabled) | (6 | 7, ExecuteOutcome::ActionNotFound) => {}
            (i, ExecuteOutcome::Created(execution)) if !(5..=7).contains(&i) => {
                assert_eq!(execution.status, ExecutionStatus::Queued);
                created.push((i, execution.action_execution_id));
            }
            (i, other) => panic!("execute {i}: {other:?}"),
        }
    }
    assert_eq!(created.len(), EXECUTIONS - 3);
    let ids: Vec<ExecutionId> = created.iter().map(|(_, id)| *id).collect();
    let commits = xmins(&pg, CLAIMED, &ids).await.len();
    assert!(
        commits < EXECUTIONS / 4,
        "{commits} commits for {EXECUTIONS} executes"
    );
    // Each has its own input, its snapshot of both steps and its outbox row.
    for (i, id) in created {
        let detail = worker.detail(id).await;
        assert_eq!(detail.input, Some(json!({"n": i})));
        assert_eq!(detail.steps.len(), 2);
        assert_eq!(worker.outbox_rows(id).await, 1);
    }
}

/// The transactions that last wrote each execution row.
const CLAIMED: &str = "SELECT DISTINCT xmin::text FROM executions WHERE execution_id = ANY($1)";
/// The transactions that started each second step (recorded first steps' results).
const NEXT_STEP_STARTED: &str = "SELECT DISTINCT xmin::text FROM execution_steps \
     WHERE execution_id = ANY($1) AND step_number = 2 AND status = 'Running'";

/// The transactions (by id) that wrote the rows `sql` selects for these executions.
async fn xmins(pg: &PgStore, sql: &'static str, ids: &[ExecutionId]) -> HashSet<String> {
    let ids: Vec<uuid::Uuid> = ids.iter().map(|id| id.0).collect();
    let rows: Vec<String> = sqlx::query_scalar(sql)
        .bind(ids)
        .fetch_all(pg.pool())
        .await
        .unwrap();
    rows.into_iter().collect()
}
