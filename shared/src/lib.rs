//! `actuate-shared`: what the Actuate API and workers agree on, in layers that depend only
//! downwards:
//!
//! - [`domain`]: the core (ids, model, validation, schedules, templates, policy); no I/O.
//! - [`crypto`]: secrets sealed at rest under the operator's key ([`crypto::Keyring`]).
//! - [`storage`]: the [`storage::Store`] interface, [`storage::open`] choosing a backend from
//!   the database URL, and the PostgreSQL backend with its migrations from `migrations/`.
//! - [`queue`]: the [`queue::Broker`] interface (RabbitMQ, and an in-process queue) and the
//!   [`message`] it carries; [`relay`] moves the store's outbox onto it.
//! - [`runtime`]: one [`runtime::Supervisor`] and shutdown signal per process, the retry
//!   [`runtime::Backoff`] and [`runtime::Reachability`].
//! - [`audit`]: recording a change in the audit log (never failing the change).
//! - [`vault`]: a project's secrets and webhook signing secrets, sealed before they are stored.
//! - [`settings`] and [`telemetry`]: environment settings helpers, logging and metrics.
//!
//! Start with `storage/mod.rs`: it lists every operation the rest of the system relies on.

pub mod audit;
pub mod crypto;
pub mod domain;
pub mod message;
pub mod queue;
pub mod relay;
pub mod runtime;
pub mod settings;
pub mod storage;
pub mod telemetry;
pub mod vault;
