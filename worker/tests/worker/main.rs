//! Integration tests of the worker's core against real PostgreSQL and real HTTP servers on
//! loopback; the handler is driven directly with message bytes.

mod attempts;
mod batches;
mod concurrency;
mod delayed;
mod email;
mod helpers;
mod limits;
mod pipeline;
mod plans;
mod python;
mod queues;
mod recovery;
mod retention;
mod retries;
mod sandbox;
mod secrets;
mod ssrf;
mod storable;
