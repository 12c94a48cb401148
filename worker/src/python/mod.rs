//! Python steps run in a pool of warm runner processes, never in the worker itself: a runaway
//! loop holding the GIL, code stuck in C, a memory bomb or a look at `os.environ` must not take
//! the worker, its heartbeats or its secrets with it; and no step may see another's state.
//!
//! - [`pool`]: the worker side (spawn, limits, checkout, kill, recycle);
//! - [`runner`]: the runner process (`actuate-worker python-runner`), a zygote embedding CPython
//!   that forks a fresh process for every step; `harness.py` runs one step inside it;
//! - [`sandbox`]: the user, network namespace and seccomp filter a runner gets;
//! - [`proxy`]: the SSRF-guarded HTTP proxy of the `guarded` network policy;
//! - [`protocol`]: the frames between worker and runner.

pub mod pool;
pub mod protocol;
mod proxy;
pub mod runner;
pub mod sandbox;

pub use pool::{Limits, PoolConfig, PythonPool, Reservation, RunnerError};
pub use sandbox::{NetworkPolicy, RunnerUser};
