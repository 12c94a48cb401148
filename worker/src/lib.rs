//! `actuate-worker`: consumes execute requests from RabbitMQ and runs the executions' steps.
//!
//! Start reading at [`handler`]: one message in, a [`handler::Disposition`] out (no AMQP types,
//! so tests drive it directly). Then:
//! - [`executor`] runs a claimed execution: steps in order, maxRunTime, cancel, heartbeats,
//!   release on shutdown; every write fenced by the claim's attempt number, and retried
//!   through database outages by [`durable`];
//! - [`steps`] has one module per step kind behind `steps::run`;
//! - [`consumer`] is the AMQP loop and the only place that acks or nacks;
//! - [`maintenance`] reaps executions of lost workers; [`release`] releases delayed runs when
//!   due; [`retention`] deletes finished executions past their age; [`cancel`] listens for
//!   cancellations;
//! - [`net_guard`] keeps webhooks away from private addresses;
//! - [`python`] runs Python steps in a pool of isolated runner processes;
//! - [`startup`] wires it together and owns graceful shutdown; [`settings`] reads the
//!   environment.

pub mod cancel;
pub mod consumer;
pub mod context;
pub mod durable;
pub mod executor;
pub mod handler;
pub mod http;
pub mod maintenance;
pub mod net_guard;
pub mod python;
pub mod release;
pub mod retention;
pub mod settings;
pub mod startup;
pub mod steps;
