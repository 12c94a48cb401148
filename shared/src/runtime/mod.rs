//! What every long-running task of every process shares: retrying with [`Backoff`], and
//! [`Reachability`], what a process has seen of its database lately.

mod backoff;
mod reachability;

pub use backoff::Backoff;
pub use reachability::Reachability;
