//! The core: what Actuate means, with no I/O. Nothing here touches a database, a broker or
//! the network, so all of it is tested without one; storage backends and the queue build on
//! it and decide nothing of their own.
//!
//! - [`ids`]: typed ids (`ActionId`, `TenantId`, ...) and the tenant/project [`ids::Scope`].
//! - [`model`]: actions, steps, triggers and executions as stored and as the API shows them.
//! - [`draft`]: validated input for creating and updating actions, and the limits on it;
//!   [`names`]: action and event names ([`names::EventName`]).
//! - [`step_settings`]: what each step type needs in its `settings`; [`templates`]: the
//!   minijinja templates their string values may hold; [`nesting`]: the depth bound on code
//!   and templates.
//! - [`paging`]: keyset cursors and page sizes of every paged list.
//! - [`retry`]: a step's retry policy and what it decides after a failure.
//! - [`concurrency`]: how many executions of an action (or of one key value) run at once.
//! - [`schedule`]: when schedule triggers fire (time zones, DST policy).
//! - [`policy`]: decisions every backend defers to: catch-up, how executions end and what
//!   their notes say.
//! - [`storable`]: what a backend can store (no NUL in JSON, output and text sizes).
//! - [`auth`]: API tokens and their hashes; [`audit`]: the entries of the audit log.
//! - [`secrets`]: a project's secrets, their names and the [`secrets::Redactor`];
//!   [`webhook_signing`]: Standard Webhooks signatures and signing secrets.

pub mod audit;
pub mod auth;
pub mod concurrency;
pub mod draft;
pub mod ids;
pub mod model;
pub mod names;
pub mod nesting;
pub mod paging;
pub mod policy;
pub mod retry;
pub mod schedule;
pub mod secrets;
pub mod step_settings;
pub mod storable;
pub mod templates;
pub mod webhook_signing;
