//! Since when this process has reached its database without a failure.
//!
//! A lease that ran out while the database was down says nothing about its worker: nobody
//! could renew anything. So a reaper hands an expired claim to another worker only once its
//! process has reached the database without a failure for a whole lease, time in which every
//! live worker has renewed (they retry within a second of the database coming back). Every
//! task of a process that talks to the database records its failures here (heartbeats every
//! few seconds per running execution, claims, the reaper itself); the reaper records the
//! answers it gets, asking while it waits. The count starts at the first answer after the last
//! failure, not at the failure: a process that made no call between its last failure and the
//! database's return has not seen the database back for that time. A process counts its start as a failure, so a reaper that starts during or
//! right after an outage waits as well.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Reachability {
    base: Instant,
    /// Time after `base` of the first answer since the last failure; `None` while none came.
    reached_since: Mutex<Option<Duration>>,
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
            reached_since: Mutex::new(None),
        }
    }

    /// The database could not be reached just now.
    pub fn failed(&self) {
        *self.reached_since.lock().expect("reachability lock") = None;
    }

    /// The database answered just now.
    pub fn reached(&self) {
        let now = self.base.elapsed();
        self.reached_since
            .lock()
            .expect("reachability lock")
            .get_or_insert(now);
    }

    /// How long the database has been answering without a failure (zero until it answered
    /// once after the last failure, or after the start).
    pub fn reachable_for(&self) -> Duration {
        let since = *self.reached_since.lock().expect("reachability lock");
        since.map_or(Duration::ZERO, |since| {
            self.base.elapsed().saturating_sub(since)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_starts_at_the_first_answer_after_a_failure() {
        let r = Reachability::new();
        // The start counts as a failure: time alone proves nothing.
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(r.reachable_for(), Duration::ZERO);
        r.reached();
        std::thread::sleep(Duration::from_millis(30));
        r.reached();
        assert!(r.reachable_for() >= Duration::from_millis(30));
        r.failed();
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(
            r.reachable_for(),
            Duration::ZERO,
            "no answer since the failure"
        );
        r.reached();
        assert!(r.reachable_for() < Duration::from_millis(30));
    }
}
