//! The scheduler: fires due schedule triggers. It runs in every `serve` process (unless
//! `ACTUATE_SCHEDULER=false`) and as `actuate-api scheduler` on its own; any number may run at
//! once: due triggers are claimed with `SKIP LOCKED`, "due" is the database's clock, and each
//! (trigger, slot) is recorded once.

use actuate_shared::relay::RelayHandle;
use actuate_shared::storage::DynStore;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const BATCH: i64 = 100;

#[derive(Clone, Copy, Debug)]
pub struct SchedulerSettings {
    /// `ACTUATE_SCHEDULER`: run the scheduler inside `serve`.
    pub enabled: bool,
    /// `ACTUATE_SCHEDULER_TICK_MS`: how often due triggers are looked for.
    pub tick: Duration,
    /// `ACTUATE_SCHEDULER_GRACE`: how late a slot may fire and still count as on time (for
    /// triggers with `catchUp: none`).
    pub grace: Duration,
}

pub async fn run(
    store: DynStore,
    relay: RelayHandle,
    settings: SchedulerSettings,
    stop: CancellationToken,
) {
    loop {
        match store.fire_due(BATCH, settings.grace).await {
            Ok(report) => {
                if report.fired > 0 {
                    relay.wake();
                    metrics::counter!("actuate_executions_created_total", "trigger" => "schedule")
                        .increment(report.fired);
                }
                if report.missed > 0 {
                    tracing::warn!(
                        missed = report.missed,
                        "schedule slots missed while no scheduler ran"
                    );
                    metrics::counter!("actuate_schedule_slots_missed_total")
                        .increment(report.missed);
                }
                if report.claimed as i64 == BATCH {
                    continue;
                }
            }
            Err(e) => tracing::warn!(error = %e, "scheduler round failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(settings.tick) => {},
            () = stop.cancelled() => return,
        }
    }
}
