//! Where standalone mode keeps its state, and the settings it decides itself.
//!
//! `ACTUATE_DATA` names the SQLite file (default `./actuate.db`; created when absent).
//! [`StandaloneEnv`] is the environment as the API's and the worker's settings read it, with
//! `DATABASE_URL` pointing at that file and the AMQP settings at their defaults (the queue
//! lives in the process: nothing connects to RabbitMQ), so neither variable needs to be set,
//! and values left in the environment for a distributed deployment are ignored.

use actuate_shared::settings::{Env, Source};
use std::path::Path;

pub const DEFAULT_DATA: &str = "./actuate.db";

pub struct StandaloneEnv<S = Env> {
    database_url: String,
    inner: S,
}

impl StandaloneEnv {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::over(Env)
    }
}

impl<S: Source> StandaloneEnv<S> {
    /// `inner`'s settings, with the database and the queue decided here.
    pub fn over(inner: S) -> anyhow::Result<Self> {
        let data = inner
            .get("ACTUATE_DATA")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_DATA.to_string());
        // SQLite creates the file, not its directory; say which setting is wrong.
        let dir = Path::new(&data)
            .parent()
            .filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir
            && !dir.is_dir()
        {
            anyhow::bail!(
                "setting ACTUATE_DATA: the directory {} does not exist",
                dir.display()
            );
        }
        Ok(Self {
            database_url: format!("sqlite:{data}"),
            inner,
        })
    }

    /// `sqlite:<ACTUATE_DATA>`.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }
}

impl<S: Source> Source for StandaloneEnv<S> {
    fn get(&self, name: &str) -> Option<String> {
        match name {
            "DATABASE_URL" => Some(self.database_url.clone()),
            // Parsed by the shared settings, never used: the broker is in memory.
            "AMQP_URL" | "ACTUATE_QUEUE_PREFIX" => None,
            _ => self.inner.get(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actuate_api::settings::ApiSettings;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_database_is_the_data_file_whatever_the_environment_says() {
        let source = StandaloneEnv::over(env(&[
            ("DATABASE_URL", "postgres://elsewhere/db"),
            ("AMQP_URL", "not a url"),
            ("ACTUATE_BIND", "127.0.0.1:9999"),
            ("ACTUATE_EXECUTE_RATE_LIMIT", "7"),
        ]))
        .unwrap();
        assert_eq!(source.database_url(), "sqlite:./actuate.db");
        let settings = ApiSettings::from_source(&source).unwrap();
        assert_eq!(settings.database.url, "sqlite:./actuate.db");
        assert_eq!(settings.bind.port(), 9999);
        // The API's own settings pass through, the execute rate limit among them.
        let limit = settings.execute_rate_limit.expect("the limit is on");
        assert_eq!((limit.per_second.get(), limit.burst.get()), (7, 7));

        let dir = std::env::temp_dir();
        let file = dir.join("x.db");
        let source = StandaloneEnv::over(env(&[("ACTUATE_DATA", file.to_str().unwrap())])).unwrap();
        assert_eq!(source.database_url(), format!("sqlite:{}", file.display()));
    }

    #[test]
    fn a_missing_directory_is_named() {
        let err = StandaloneEnv::over(env(&[("ACTUATE_DATA", "/no/such/dir/actuate.db")]))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("ACTUATE_DATA") && err.contains("/no/such/dir"),
            "{err}"
        );
    }
}
