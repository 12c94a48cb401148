//! Integration tests of the API: the real server on port 0, a fresh PostgreSQL database per
//! test, real HTTP. One binary; one module per area.

mod actions;
mod audit;
mod auth;
mod concurrency;
mod control;
mod cors;
mod dashboard;
mod delayed;
mod document;
mod executions;
mod hardening;
mod helpers;
mod history;
mod openapi;
mod operator;
mod rate_limit;
mod read_only;
mod retention;
mod retries;
mod secrets;
mod seeds;
mod triggers;
mod validation;
