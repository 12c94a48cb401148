//! Cross-process tests: the real `actuate-api` and `actuate-worker` binaries, real PostgreSQL,
//! real RabbitMQ, a real webhook sink; processes killed, stopped and cut off from the broker.

mod bench_smoke;
mod concurrency;
mod dashboard;
mod faults;
mod flow;
mod isolation;
mod outage;
mod scheduler;
mod secrets;
mod soak;
mod traces;
