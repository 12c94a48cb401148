//! Reading settings from the environment. Each binary builds its own plain settings struct
//! once at start with these helpers and passes it by value; nothing reads the environment
//! later. Every error names the variable and what was wrong with it.

use std::fmt::Display;
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
#[error("setting {name}: {problem}")]
pub struct SettingError {
    pub name: &'static str,
    pub problem: String,
}

/// Where settings come from: the process environment, or a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

pub struct Env;

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Source for std::collections::HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// A required variable; empty counts as missing.
pub fn required(src: &dyn Source, name: &'static str, hint: &str) -> Result<String, SettingError> {
    match src.get(name) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(SettingError {
            name,
            problem: format!("is not set ({hint})"),
        }),
    }
}

/// An optional variable parsed as `T`, with a default when unset or empty.
pub fn parsed<T>(src: &dyn Source, name: &'static str, default: T) -> Result<T, SettingError>
where
    T: FromStr,
    T::Err: Display,
{
    match src.get(name) {
        Some(v) if !v.trim().is_empty() => v.trim().parse().map_err(|e| SettingError {
            name,
            problem: format!("'{}' is not valid: {e}", v.trim()),
        }),
        _ => Ok(default),
    }
}

/// How to reach the database; shared by every binary.
#[derive(Clone)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    /// `ACTUATE_DB_ACQUIRE_TIMEOUT_MS`: how long a call waits for a pooled connection (or a
    /// new one) before it fails as "storage unavailable". Short, so that during an outage the
    /// API answers 503 within about a second instead of holding requests.
    pub acquire_timeout: std::time::Duration,
}

impl std::fmt::Debug for DatabaseSettings {
    // The URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &"<redacted>")
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
    }
}

impl DatabaseSettings {
    pub fn from_source(src: &dyn Source) -> Result<Self, SettingError> {
        let url = required(
            src,
            "DATABASE_URL",
            "for example postgres://postgres@127.0.0.1:5432/actuate or sqlite:./actuate.db",
        )?;
        if !(url.starts_with("postgres://")
            || url.starts_with("postgresql://")
            || url.starts_with("sqlite:"))
        {
            return Err(SettingError {
                name: "DATABASE_URL",
                problem: "must start with postgres://, postgresql:// or sqlite:".into(),
            });
        }
        let max_connections = parsed(src, "ACTUATE_DB_MAX_CONNECTIONS", 16u32)?;
        if max_connections == 0 {
            return Err(SettingError {
                name: "ACTUATE_DB_MAX_CONNECTIONS",
                problem: "must be at least 1".into(),
            });
        }
        let acquire_ms = parsed(src, "ACTUATE_DB_ACQUIRE_TIMEOUT_MS", 1000u64)?;
        if acquire_ms == 0 {
            return Err(SettingError {
                name: "ACTUATE_DB_ACQUIRE_TIMEOUT_MS",
                problem: "must be at least 1".into(),
            });
        }
        Ok(Self {
            url,
            max_connections,
            acquire_timeout: std::time::Duration::from_millis(acquire_ms),
        })
    }

    /// For the binaries of the distributed mode (`actuate-api serve`, `actuate-worker`), whose
    /// processes share one database: a SQLite file serves one process only (its writes,
    /// cancellation notices and lease judgement live in that process), so it is refused with
    /// a pointer to standalone mode rather than half working.
    pub fn shared_by_processes(self) -> Result<Self, SettingError> {
        if self.url.starts_with("sqlite:") {
            return Err(SettingError {
                name: "DATABASE_URL",
                problem: "sqlite: serves one process: run `actuate standalone` for SQLite, \
                          or use PostgreSQL (postgres://) for separate API and worker processes"
                    .into(),
            });
        }
        Ok(self)
    }
}

/// `ACTUATE_SECRETS_KEY` (base64 of 32 bytes) and, during a key rotation,
/// `ACTUATE_SECRETS_PREVIOUS_KEYS` (comma-separated): the keys secrets are sealed with. `None`
/// when unset: secrets are then off (see [`crate::vault`]).
pub fn secrets_keyring(src: &dyn Source) -> Result<Option<crate::crypto::Keyring>, SettingError> {
    let set = |name| src.get(name).filter(|v| !v.trim().is_empty());
    let previous = set("ACTUATE_SECRETS_PREVIOUS_KEYS");
    let Some(key) = set("ACTUATE_SECRETS_KEY") else {
        return match previous {
            Some(_) => Err(SettingError {
                name: "ACTUATE_SECRETS_PREVIOUS_KEYS",
                problem: "is set, but ACTUATE_SECRETS_KEY is not".into(),
            }),
            None => Ok(None),
        };
    };
    crate::crypto::Keyring::parse(&key, previous.as_deref())
        .map(Some)
        .map_err(|problem| SettingError {
            name: "ACTUATE_SECRETS_KEY",
            problem,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn src(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn database_url_is_required_and_checked() {
        let err = DatabaseSettings::from_source(&src(&[])).unwrap_err();
        assert_eq!(err.name, "DATABASE_URL");
        let err =
            DatabaseSettings::from_source(&src(&[("DATABASE_URL", "mysql://x")])).unwrap_err();
        assert!(err.to_string().contains("postgres://"), "{err}");
        let ok =
            DatabaseSettings::from_source(&src(&[("DATABASE_URL", "postgres://a:secret@h/d")]))
                .unwrap();
        assert_eq!(ok.max_connections, 16);
        let sqlite =
            DatabaseSettings::from_source(&src(&[("DATABASE_URL", "sqlite:./a.db")])).unwrap();
        let err = sqlite.shared_by_processes().unwrap_err();
        assert!(err.to_string().contains("actuate standalone"), "{err}");
        assert!(ok.clone().shared_by_processes().is_ok());
        assert_eq!(ok.acquire_timeout.as_millis(), 1000);
        assert!(!format!("{ok:?}").contains("secret"));
    }

    #[test]
    fn bad_numbers_name_the_variable() {
        let err = DatabaseSettings::from_source(&src(&[
            ("DATABASE_URL", "postgres://h/d"),
            ("ACTUATE_DB_MAX_CONNECTIONS", "many"),
        ]))
        .unwrap_err();
        assert_eq!(err.name, "ACTUATE_DB_MAX_CONNECTIONS");
        assert!(err.to_string().contains("'many'"), "{err}");
    }
}
