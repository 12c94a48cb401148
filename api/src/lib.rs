//! `actuate-api`: the HTTP service of Actuate, implementing the Actions API.
//!
//! - `main.rs` hands the command line to [`cli`] (`serve`, `migrate`, `keys ...`).
//! - [`startup`] builds the [`startup::Application`] from [`settings::ApiSettings`]; tests
//!   start it on port 0.
//! - [`routes`] holds one router per resource; handlers take an authenticated
//!   [`extract::Caller`] and return `Result<_, error::ApiError>`.
//! - [`requests`] turns request bodies into validated drafts for storage.
//! - [`error`] maps every failure to its status and JSON body; [`storage_gate`] answers 503
//!   at once while the database is unreachable.
//! - [`audit`] records every change in the audit log.
//! - [`rate_limit`] holds the per-tenant limit on execute requests (off by default).
//! - [`scheduler`] fires schedule triggers (in `serve`, or alone as `actuate-api scheduler`).
//! - Executions are recorded with an outbox row in one transaction; the relay
//!   (`actuate_shared::relay`) running in this process publishes them to RabbitMQ.
//!
//! Storage lives in `actuate-shared`; this crate holds no SQL.

pub mod audit;
pub mod cli;
pub mod cors;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod package;
pub mod python_syntax;
pub mod rate_limit;
pub mod requests;
pub mod routes;
pub mod scheduler;
pub mod settings;
pub mod startup;
pub mod storage_gate;
mod ui;
