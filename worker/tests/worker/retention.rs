//! Retention on every backend: exactly the finished executions past their age are deleted
//! (the action's `retentionDays`, else the default; the default for a deleted action's),
//! with their steps, a bounded batch at a time; Queued and Running ones never.

use crate::helpers::{TestWorker, two_unreached_webhooks};
use actuate_shared::domain::draft::ActionPatch;
use actuate_shared::domain::ids::{ActionId, ExecutionId, KeyId};
use actuate_shared::storage::{CancelOutcome, ClaimOutcome};
use chrono::Utc;
use std::time::Duration;

/// A finished (cancelled) execution of `action` that ended `days_ago` days ago.
async fn ended(worker: &TestWorker, action: ActionId, days_ago: i64) -> ExecutionId {
    let id = worker.execute(action).await.execution_id;
    let CancelOutcome::Cancelled(_) = worker
        .store
        .cancel_execution(worker.scope, id)
        .await
        .unwrap()
    else {
        panic!("not cancelled")
    };
    let at = Utc::now() - chrono::Duration::days(days_ago);
    worker.store.backdate_execution(id, at).await.unwrap();
    id
}

async fn exists(worker: &TestWorker, id: ExecutionId) -> bool {
    worker
        .store
        .get_execution(worker.scope, id)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn exactly_the_executions_past_their_age_are_deleted_with_their_steps() {
    let worker = TestWorker::start().await;
    let default = worker.action(&two_unreached_webhooks(), 60).await;
    let short = worker.action(&two_unreached_webhooks(), 60).await;
    let patch = ActionPatch {
        retention_days: Some(Some(5)),
        ..ActionPatch::default()
    };
    worker
        .store
        .update_action(worker.scope, short, patch, KeyId::new())
        .await
        .unwrap()
        .unwrap();
    let gone_action = worker.action(&two_unreached_webhooks(), 60).await;

    let old = ended(&worker, default, 31).await;
    let young = ended(&worker, default, 29).await;
    let old_short = ended(&worker, short, 6).await;
    let young_short = ended(&worker, short, 4).await;
    let of_deleted_action = ended(&worker, gone_action, 31).await;
    assert!(
        worker
            .store
            .delete_action(worker.scope, gone_action)
            .await
            .unwrap()
    );
    let queued = worker.execute(default).await.execution_id;
    let running = worker.execute(default).await.execution_id;
    let ClaimOutcome::Claimed(_) = worker
        .store
        .claim_execution(worker.scope, running, "w", Duration::from_secs(60))
        .await
        .unwrap()
    else {
        panic!("not claimed")
    };
    assert_eq!(worker.store.count_execution_steps(old).await.unwrap(), 2);

    // A batch of one at a time: three are due.
    for _ in 0..3 {
        assert_eq!(worker.store.delete_expired(30, 1).await.unwrap(), 1);
    }
    assert_eq!(worker.store.delete_expired(30, 100).await.unwrap(), 0);

    for id in [old, old_short, of_deleted_action] {
        assert!(!exists(&worker, id).await, "{id} is past its age");
        assert_eq!(worker.store.count_execution_steps(id).await.unwrap(), 0);
    }
    for id in [young, young_short, queued, running] {
        assert!(exists(&worker, id).await, "{id} must be kept");
    }
    assert_eq!(worker.store.count_execution_steps(young).await.unwrap(), 2);

    // The action's retention back to the default: its 4- and 6-day-old ones stay (one was
    // already deleted); a shorter default takes what is older than it.
    let patch = ActionPatch {
        retention_days: Some(None),
        ..ActionPatch::default()
    };
    worker
        .store
        .update_action(worker.scope, short, patch, KeyId::new())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(worker.store.delete_expired(30, 100).await.unwrap(), 0);
    assert_eq!(worker.store.delete_expired(3, 100).await.unwrap(), 1 + 1);
    assert!(!exists(&worker, young_short).await);
    assert!(exists(&worker, queued).await && exists(&worker, running).await);
}
