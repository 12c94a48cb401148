//! The API's settings, read once from the environment at start (see the README's table).

use crate::scheduler::SchedulerSettings;
use actuate_shared::queue::QueueSettings;
use actuate_shared::settings::{self, DatabaseSettings, SettingError, Source};
use actuate_shared::telemetry::LogFormat;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct ApiSettings {
    pub database: DatabaseSettings,
    /// Where the outbox relay publishes execute requests.
    pub queue: QueueSettings,
    /// `ACTUATE_BIND`: where the HTTP server listens; port 0 picks a free port (tests).
    pub bind: SocketAddr,
    /// `ACTUATE_AUTO_MIGRATE`: apply pending migrations when `serve` starts.
    pub auto_migrate: bool,
    pub log_format: LogFormat,
    pub scheduler: SchedulerSettings,
}

impl ApiSettings {
    pub fn from_env() -> Result<Self, SettingError> {
        Self::from_source(&settings::Env)
    }

    pub fn from_source(src: &dyn Source) -> Result<Self, SettingError> {
        Ok(Self {
            database: DatabaseSettings::from_source(src)?,
            queue: QueueSettings::from_source(src)?,
            bind: settings::parsed(
                src,
                "ACTUATE_BIND",
                SocketAddr::from(([127, 0, 0, 1], 8080)),
            )?,
            auto_migrate: settings::parsed(src, "ACTUATE_AUTO_MIGRATE", true)?,
            log_format: settings::parsed(src, "ACTUATE_LOG_FORMAT", LogFormat::Text)?,
            scheduler: scheduler_settings(src)?,
        })
    }
}

pub fn scheduler_settings(src: &dyn Source) -> Result<SchedulerSettings, SettingError> {
    let tick: u64 = settings::parsed(src, "ACTUATE_SCHEDULER_TICK_MS", 1000)?;
    if tick == 0 {
        return Err(SettingError {
            name: "ACTUATE_SCHEDULER_TICK_MS",
            problem: "must be at least 1".into(),
        });
    }
    Ok(SchedulerSettings {
        enabled: settings::parsed(src, "ACTUATE_SCHEDULER", true)?,
        tick: Duration::from_millis(tick),
        grace: Duration::from_secs(settings::parsed(src, "ACTUATE_SCHEDULER_GRACE", 60)?),
    })
}

/// Only what the operator commands (`migrate`, `keys ...`) need.
pub fn log_format_from_env() -> Result<LogFormat, SettingError> {
    settings::parsed(&settings::Env, "ACTUATE_LOG_FORMAT", LogFormat::Text)
}
