//! Python steps run in a pool of warm runner processes, never in the worker itself: a runaway
//! loop holding the GIL, code stuck in C, a memory bomb or a look at `os.environ` must not take
//! the worker, its heartbeats or its secrets with it.
//!
//! - [`pool`]: the worker side (spawn, limits, checkout, kill, recycle);
//! - [`runner`]: the runner process (`actuate-worker python-runner`), embedding CPython;
//! - [`protocol`]: the frames between them; `harness.py` runs one step inside the runner.

pub mod pool;
pub mod protocol;
pub mod runner;

pub use pool::{Limits, PoolConfig, PythonPool, RunnerError};
