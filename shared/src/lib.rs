//! `actuate-shared`: what the Actuate API and workers agree on.
//!
//! - [`ids`]: typed ids (`ActionId`, `TenantId`, ...) and the tenant/project [`ids::Scope`].
//! - [`model`]: actions, steps and triggers as stored and as the API shows them.
//! - [`draft`]: validated input for creating and updating actions, and the limits on it;
//!   [`names`]: action and event names ([`names::EventName`]).
//! - [`step_settings`]: what each step type needs in its `settings`; [`templates`]: the
//!   minijinja templates their string values may hold.
//! - [`schedule`]: when schedule triggers fire (time zones, DST policy).
//! - [`policy`]: decisions every backend defers to: catch-up, how executions end and what
//!   their notes say.
//! - [`storage`]: the [`storage::Store`] interface and its PostgreSQL backend, with the
//!   migrations embedded from `migrations/`.
//! - [`storable`]: what a backend can store (no NUL in JSON, output and text sizes).
//! - [`auth`]: API tokens and their hashes.
//! - [`runtime`]: the retry [`runtime::Backoff`] and [`runtime::Reachability`] every process
//!   uses.
//! - [`settings`] and [`telemetry`]: environment settings helpers and logging set-up.
//!
//! Start with `storage/mod.rs`: it lists every operation the rest of the system relies on.

pub mod auth;
pub mod draft;
pub mod ids;
pub mod message;
pub mod model;
pub mod names;
pub mod nesting;
pub mod policy;
pub mod queue;
pub mod relay;
pub mod runtime;
pub mod schedule;
pub mod settings;
pub mod step_settings;
pub mod storable;
pub mod storage;
pub mod telemetry;
pub mod templates;
