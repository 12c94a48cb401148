//! One supervisor per process for its background tasks (relay, scheduler, reaper, listeners,
//! probes), and one shutdown signal.
//!
//! Every task gets the supervisor's stop token and must return soon after it fires. A task that
//! returns before that, or panics, is logged by name: a process whose relay died would
//! otherwise look healthy while its outbox grows. [`Supervisor::shutdown`] fires the token and
//! waits for every task.

use futures_util::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
pub struct Supervisor {
    stop: CancellationToken,
    tasks: JoinSet<()>,
}

impl Supervisor {
    pub fn new() -> Self {
        Self::default()
    }

    /// The token every task watches; cancelling it is what [`Self::shutdown`] does first.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Runs `task(stop)` in the background under `name`.
    pub fn spawn<F>(&mut self, name: &'static str, task: impl FnOnce(CancellationToken) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stop = self.stop.clone();
        let run = AssertUnwindSafe(task(stop.clone())).catch_unwind();
        self.tasks.spawn(async move {
            match run.await {
                Ok(()) if stop.is_cancelled() => tracing::debug!(task = name, "task stopped"),
                Ok(()) => tracing::error!(task = name, "task ended before shutdown"),
                Err(_) => tracing::error!(task = name, "task panicked"),
            }
        });
    }

    /// Stops every task and waits for them.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Resolves on SIGTERM or Ctrl-C: the one shutdown signal of every process.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested");
}

#[cfg(test)]
mod tests {
    use super::Supervisor;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn shutdown_stops_every_task_and_survives_a_panic() {
        let stopped = Arc::new(AtomicUsize::new(0));
        let mut supervisor = Supervisor::new();
        for _ in 0..3 {
            let stopped = stopped.clone();
            supervisor.spawn("waiter", |stop| async move {
                stop.cancelled().await;
                stopped.fetch_add(1, Ordering::SeqCst);
            });
        }
        supervisor.spawn("panics", |_| async { panic!("boom") });
        supervisor.spawn("returns early", |_| async {});
        supervisor.shutdown().await;
        assert_eq!(stopped.load(Ordering::SeqCst), 3);
    }
}
