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
    /// `ACTUATE_SECRETS_KEY` when the environment has none: the key file's (see
    /// [`StandaloneEnv::with_secrets_key`]).
    secrets_key: Option<String>,
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
            secrets_key: None,
            inner,
        })
    }

    /// Secrets work out of the box: without `ACTUATE_SECRETS_KEY` in the environment, the key
    /// is read from `<ACTUATE_DATA>.secrets-key`, made (readable by this user only) on first
    /// start. Keep it with the data file: secrets stored under it cannot be read without it.
    pub fn with_secrets_key(mut self) -> anyhow::Result<Self> {
        if self
            .inner
            .get("ACTUATE_SECRETS_KEY")
            .is_some_and(|k| !k.trim().is_empty())
        {
            return Ok(self);
        }
        let path = format!("{}.secrets-key", self.data_file());
        self.secrets_key = Some(read_or_make_key(Path::new(&path))?);
        Ok(self)
    }

    fn data_file(&self) -> &str {
        self.database_url.trim_start_matches("sqlite:")
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
            "ACTUATE_SECRETS_KEY" if self.secrets_key.is_some() => self.secrets_key.clone(),
            // Parsed by the shared settings, never used: the broker is in memory.
            "AMQP_URL" | "ACTUATE_QUEUE_PREFIX" => None,
            _ => self.inner.get(name),
        }
    }
}

/// The key in `path`, or a new one put there first: written whole to a file of its own (mode
/// 0600), then linked into place, which fails if another process put its key there first (its
/// key is then read). So the file, once there, always holds a whole key, and two processes
/// starting at once end up with the same one.
fn read_or_make_key(path: &Path) -> anyhow::Result<String> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let context = |what: &str, e: std::io::Error| {
        anyhow::anyhow!("{what} the secrets key {}: {e}", path.display())
    };
    if !path.exists() {
        let key = actuate_shared::crypto::Keyring::generate_key();
        let draft = path.with_extension(format!("new-{}", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&draft)
            .map_err(|e| context("making", e))?;
        file.write_all(format!("{key}\n").as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| context("writing", e))?;
        let linked = std::fs::hard_link(&draft, path);
        let _ = std::fs::remove_file(&draft);
        match linked {
            Ok(()) => {
                tracing::info!(path = %path.display(), "made the secrets key");
                return Ok(key);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(context("making", e)),
        }
    }
    let mode = std::fs::metadata(path)
        .map_err(|e| context("reading", e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        tracing::warn!(path = %path.display(), mode = format!("{:o}", mode & 0o777), "the secrets key file is readable by others: chmod 600 it");
    }
    let key = std::fs::read_to_string(path).map_err(|e| context("reading", e))?;
    anyhow::ensure!(
        !key.trim().is_empty(),
        "the secrets key file {} is empty: restore it, or delete it if no secret was ever set",
        path.display()
    );
    Ok(key.trim().to_string())
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
    fn the_secrets_key_is_made_once_beside_the_data_file_unless_the_environment_has_one() {
        use actuate_shared::settings::secrets_keyring;
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("actuate-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("a.db");
        let data = data.to_str().unwrap();
        let first = StandaloneEnv::over(env(&[("ACTUATE_DATA", data)]))
            .unwrap()
            .with_secrets_key()
            .unwrap();
        let key_file = dir.join("a.db.secrets-key");
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = StandaloneEnv::over(env(&[("ACTUATE_DATA", data)]))
            .unwrap()
            .with_secrets_key()
            .unwrap();
        let key = first.get("ACTUATE_SECRETS_KEY").unwrap();
        assert_eq!(again.get("ACTUATE_SECRETS_KEY").unwrap(), key);
        assert!(secrets_keyring(&again).unwrap().is_some());

        let own = actuate_shared::crypto::Keyring::generate_key();
        let given = StandaloneEnv::over(env(&[
            ("ACTUATE_DATA", data),
            ("ACTUATE_SECRETS_KEY", &own),
        ]))
        .unwrap()
        .with_secrets_key()
        .unwrap();
        assert_eq!(given.get("ACTUATE_SECRETS_KEY").unwrap(), own);
        std::fs::remove_dir_all(&dir).unwrap();
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
