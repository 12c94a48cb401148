//! The API's settings, read once from the environment at start (see the README's table).

use crate::cors::CorsOrigins;
use crate::rate_limit::ExecuteRateLimit;
use crate::scheduler::SchedulerSettings;
use actuate_shared::crypto::Keyring;
use actuate_shared::queue::QueueSettings;
use actuate_shared::settings::{self, DatabaseSettings, SettingError, Source};
use actuate_shared::telemetry::LogFormat;
use std::net::SocketAddr;
use std::num::NonZeroU32;
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
    /// `ACTUATE_EXECUTE_RATE_LIMIT` and `ACTUATE_EXECUTE_RATE_BURST`; `None` when off.
    pub execute_rate_limit: Option<ExecuteRateLimit>,
    /// `ACTUATE_CORS_ORIGINS`: browser origins allowed to call the API; off by default.
    pub cors: CorsOrigins,
    /// `ACTUATE_SECRETS_KEY` (and `ACTUATE_SECRETS_PREVIOUS_KEYS`); `None`: secrets are off.
    pub secrets: Option<Keyring>,
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
            execute_rate_limit: execute_rate_limit(src)?,
            cors: settings::parsed(src, "ACTUATE_CORS_ORIGINS", CorsOrigins::Off)?,
            secrets: settings::secrets_keyring(src)?,
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

/// The highest `ACTUATE_EXECUTE_RATE_LIMIT`: the limiter counts in nanoseconds per request, and
/// far below a nanosecond each the limit would no longer mean what it says.
pub const EXECUTE_RATE_LIMIT_MAX: u32 = 1_000_000;

/// `ACTUATE_EXECUTE_RATE_LIMIT` (per second; unset or `0` = off) and
/// `ACTUATE_EXECUTE_RATE_BURST` (default: the rate).
pub fn execute_rate_limit(src: &dyn Source) -> Result<Option<ExecuteRateLimit>, SettingError> {
    let per_second: u32 = settings::parsed(src, "ACTUATE_EXECUTE_RATE_LIMIT", 0)?;
    if per_second > EXECUTE_RATE_LIMIT_MAX {
        return Err(SettingError {
            name: "ACTUATE_EXECUTE_RATE_LIMIT",
            problem: format!("must be at most {EXECUTE_RATE_LIMIT_MAX} (or 0 for no limit)"),
        });
    }
    // Read even when the limit is off, so that a bad value is reported rather than ignored
    // (turning the limit off with `ACTUATE_EXECUTE_RATE_LIMIT=0` may leave the burst set).
    // 0 here means unset: an explicit 0 is refused below.
    let burst: u32 = settings::parsed(src, "ACTUATE_EXECUTE_RATE_BURST", 0)?;
    let burst_given = src
        .get("ACTUATE_EXECUTE_RATE_BURST")
        .is_some_and(|v| !v.trim().is_empty());
    if burst_given && burst == 0 {
        return Err(SettingError {
            name: "ACTUATE_EXECUTE_RATE_BURST",
            problem: "must be at least 1 (unset = the rate)".into(),
        });
    }
    let Some(per_second) = NonZeroU32::new(per_second) else {
        return Ok(None);
    };
    Ok(Some(ExecuteRateLimit {
        per_second,
        burst: NonZeroU32::new(burst).unwrap_or(per_second),
    }))
}

/// Only what the operator commands (`migrate`, `keys ...`) need.
pub fn log_format_from_env() -> Result<LogFormat, SettingError> {
    settings::parsed(&settings::Env, "ACTUATE_LOG_FORMAT", LogFormat::Text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn limit(pairs: &[(&str, &str)]) -> Result<Option<ExecuteRateLimit>, SettingError> {
        execute_rate_limit(&env(pairs))
    }

    fn on(per_second: u32, burst: u32) -> Option<ExecuteRateLimit> {
        Some(ExecuteRateLimit {
            per_second: NonZeroU32::new(per_second).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
        })
    }

    #[test]
    fn the_execute_rate_limit_is_off_unless_set_above_zero() {
        assert_eq!(limit(&[]).unwrap(), None);
        assert_eq!(limit(&[("ACTUATE_EXECUTE_RATE_LIMIT", "")]).unwrap(), None);
        assert_eq!(limit(&[("ACTUATE_EXECUTE_RATE_LIMIT", "0")]).unwrap(), None);
        assert_eq!(
            limit(&[
                ("ACTUATE_EXECUTE_RATE_LIMIT", "0"),
                ("ACTUATE_EXECUTE_RATE_BURST", "5")
            ])
            .unwrap(),
            None
        );
    }

    #[test]
    fn the_burst_defaults_to_the_rate() {
        assert_eq!(
            limit(&[("ACTUATE_EXECUTE_RATE_LIMIT", " 20 ")]).unwrap(),
            on(20, 20)
        );
        assert_eq!(
            limit(&[
                ("ACTUATE_EXECUTE_RATE_LIMIT", "2"),
                ("ACTUATE_EXECUTE_RATE_BURST", "10")
            ])
            .unwrap(),
            on(2, 10)
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (pairs, name) in [
            (
                &[("ACTUATE_EXECUTE_RATE_LIMIT", "fast")][..],
                "ACTUATE_EXECUTE_RATE_LIMIT",
            ),
            (
                &[("ACTUATE_EXECUTE_RATE_LIMIT", "-1")][..],
                "ACTUATE_EXECUTE_RATE_LIMIT",
            ),
            (
                &[("ACTUATE_EXECUTE_RATE_LIMIT", "1.5")][..],
                "ACTUATE_EXECUTE_RATE_LIMIT",
            ),
            (
                &[("ACTUATE_EXECUTE_RATE_LIMIT", "1000001")][..],
                "ACTUATE_EXECUTE_RATE_LIMIT",
            ),
            (
                &[
                    ("ACTUATE_EXECUTE_RATE_LIMIT", "5"),
                    ("ACTUATE_EXECUTE_RATE_BURST", "0"),
                ][..],
                "ACTUATE_EXECUTE_RATE_BURST",
            ),
            (
                &[("ACTUATE_EXECUTE_RATE_BURST", "lots")][..],
                "ACTUATE_EXECUTE_RATE_BURST",
            ),
        ] {
            let err = limit(pairs).expect_err(&format!("{pairs:?}"));
            assert_eq!(err.name, name, "{pairs:?}");
            assert!(
                err.to_string().starts_with(&format!("setting {name}: ")),
                "{err}"
            );
        }
    }

    #[test]
    fn api_settings_carry_the_limit() {
        let settings = ApiSettings::from_source(&env(&[
            ("DATABASE_URL", "sqlite:./x.db"),
            ("ACTUATE_EXECUTE_RATE_LIMIT", "3"),
        ]))
        .unwrap();
        assert_eq!(settings.execute_rate_limit, on(3, 3));
        let err = ApiSettings::from_source(&env(&[
            ("DATABASE_URL", "sqlite:./x.db"),
            ("ACTUATE_EXECUTE_RATE_LIMIT", "often"),
        ]))
        .unwrap_err();
        assert_eq!(err.name, "ACTUATE_EXECUTE_RATE_LIMIT");
    }
}
