//! What every long-running task of every process shares: one [`Supervisor`] for its
//! background tasks and one [`shutdown_signal`], retrying with [`Backoff`], and
//! [`Reachability`], what a process has seen of its database lately.

mod backoff;
mod reachability;
mod supervisor;

pub use backoff::Backoff;
pub use reachability::Reachability;
pub use supervisor::{Supervisor, shutdown_signal};
