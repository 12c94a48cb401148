//! Webhook destinations on loopback, in every spelling, are refused unless allowlisted; a
//! listener there sees no connection at all. (Other private ranges are covered by the
//! `net_guard` unit tests, which need no traffic.)

use crate::helpers::{TestWorker, webhook};
use actuate_shared::domain::model::ExecutionStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[tokio::test]
async fn private_destinations_are_refused_and_never_connected() {
    let worker = TestWorker::start_with(|s| {
        s.webhook_guard = actuate_worker::net_guard::NetGuard::default();
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });

    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://localhost:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://[::ffff:7f00:1]:{port}/"),
        format!("http://127.1:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://0x7f000001:{port}/"),
        format!("http://0.0.0.0:{port}/"),
        format!("http://[::1]:{port}/"),
    ] {
        let message = worker.queue(&[webhook(&url)], 60).await;
        let detail = worker
            .deliver_until(&message, ExecutionStatus::Failed, Duration::from_secs(10))
            .await;
        let notes = detail.execution.notes.unwrap();
        assert!(
            notes.starts_with("step 1 (Webhook) failed:") && notes.contains("not allowed"),
            "{url}: {notes}"
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "no connection reached the listener"
    );
}
