//! `actuate-tests`: what tests need from the real world, shared by the integration tests of
//! every crate, plus the cross-process tests in `tests/e2e/`.
//!
//! - [`db`]: a fresh PostgreSQL database per test;
//! - [`broker`]: per-test queue names on the real RabbitMQ, and a way to read what was published;
//! - [`sink`]: a real HTTP server on loopback that records what webhooks send it;
//! - [`signatures`]: webhook signatures checked by the specification's reference library;
//! - [`smtp`]: a real SMTP server on loopback (aiosmtpd) that records what it accepts;
//! - [`proxy`]: a TCP proxy that can be switched off and on, to cut a process off from a
//!   service without touching the service;
//! - [`procs`]: the `actuate-api` and `actuate-worker` binaries as child processes;
//! - [`cluster`]: a small deployment of those processes on loopback (e2e tests, benchmarks);
//! - [`fault`]: the fault suite's private services, load, audit and scenarios.
//!
//! Everything fails loudly (panics with a hint) when PostgreSQL or RabbitMQ is missing: a test
//! that needs them never skips.

pub mod broker;
pub mod cluster;
pub mod db;
pub mod fault;
pub mod otlp;
pub mod procs;
pub mod proxy;
pub mod signatures;
pub mod sink;
pub mod smtp;

/// Removes a test's queues and database from `Drop`, which cannot await: on a thread with a
/// runtime of its own, waited for. Runs even when the test failed.
pub fn clean_up(queue: Option<actuate_shared::queue::QueueSettings>, database_url: String) {
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cleanup runtime");
        rt.block_on(async {
            if let Some(queue) = &queue {
                broker::delete_queues(queue).await;
            }
            db::drop_database(&database_url).await;
        });
    })
    .join();
}
