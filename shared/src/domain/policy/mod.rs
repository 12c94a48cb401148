//! Domain decisions, made once in Rust for every storage backend and every process: a backend
//! stores, fences and selects; it asks here what to do.
//!
//! - [`events`]: how an event fans out and what a repeated one returns;
//! - [`firing`]: which slots of a due schedule trigger fire and which are recorded as missed,
//!   and when it fires next (catch-up);
//! - [`outcome`]: the texts of `notes`, and what happens to an execution whose lease expired;
//! - [`start`]: when a new execution may start (delayed runs).

pub mod events;
pub mod firing;
pub mod outcome;
pub mod start;
