//! When this process last failed to reach its database.
//!
//! A lease that ran out while the database was down says nothing about its worker: nobody
//! could renew anything. So a reaper hands an expired claim to another worker only once its
//! process has reached the database without a failure for a whole lease, time in which every
//! live worker has renewed (they retry within a second of the database coming back). Every
//! task of a process that talks to the database records its failures here: heartbeats every
//! few seconds per running execution, claims, the reaper itself. A process counts its start
//! as a failure, so a reaper that starts during or right after an outage waits as well.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Reachability {
    base: Instant,
    /// Milliseconds after `base` of the last failure.
    last_failure_ms: AtomicU64,
}

impl Default for Reachability {
    fn default() -> Self {
        Self::new()
    }
}

impl Reachability {
    pub fn new() -> Self {
        Self {
            base: Instant::now(),
            last_failure_ms: AtomicU64::new(0),
        }
    }

    /// The database could not be reached just now.
    pub fn failed(&self) {
        let ms = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_failure_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// How long the database has been reached without a failure (or since the process began).
    pub fn reachable_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_failure_ms.load(Ordering::Relaxed));
        self.base.elapsed().saturating_sub(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_restarts_the_count() {
        let r = Reachability::new();
        std::thread::sleep(Duration::from_millis(30));
        assert!(r.reachable_for() >= Duration::from_millis(30));
        r.failed();
        assert!(r.reachable_for() < Duration::from_millis(30));
    }
}
