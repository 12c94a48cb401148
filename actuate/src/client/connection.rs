//! Where the client connects and as whom: `--url`, `--token`, `--tenant`, `--project` on the
//! command line, else `ACTUATE_URL`, `ACTUATE_TOKEN`, `ACTUATE_TENANT`, `ACTUATE_PROJECT`, else
//! the config file (`--config`, `ACTUATE_CONFIG`, or `$XDG_CONFIG_HOME/actuate/config.toml`,
//! by default `~/.config/actuate/config.toml`):
//!
//! ```toml
//! url = "http://127.0.0.1:8080"
//! token = "act_..."
//! tenant = "5f0c..."
//! project = "9a1e..."
//! ```

use super::ClientError;
use clap::Args;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// The API standalone mode serves by default.
const DEFAULT_URL: &str = "http://127.0.0.1:8080";

#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// The API's base URL (default http://127.0.0.1:8080).
    #[arg(long, env = "ACTUATE_URL", global = true)]
    url: Option<String>,
    /// An API key's token.
    #[arg(long, env = "ACTUATE_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// The tenant id.
    #[arg(long, env = "ACTUATE_TENANT", global = true)]
    tenant: Option<Uuid>,
    /// The project id.
    #[arg(long, env = "ACTUATE_PROJECT", global = true)]
    project: Option<Uuid>,
    /// A config file holding any of url, token, tenant and project.
    #[arg(long, env = "ACTUATE_CONFIG", global = true)]
    config: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    url: Option<String>,
    token: Option<String>,
    tenant: Option<Uuid>,
    project: Option<Uuid>,
}

/// A resolved connection: every part present.
#[derive(Clone)]
pub struct Connection {
    pub url: String,
    pub token: String,
    pub tenant: Uuid,
    pub project: Uuid,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("url", &self.url)
            .field("tenant", &self.tenant)
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

impl ConnectionArgs {
    /// The flags and variables, completed from the config file.
    pub fn resolve(self) -> Result<Connection, ClientError> {
        let explicit = self.config.is_some();
        let path = self.config.or_else(default_config_path);
        let file = match &path {
            Some(path) => read_config(path, explicit)?,
            None => ConfigFile::default(),
        };
        let missing = |what: &str, flag: &str, var: &str| {
            let file = path
                .as_ref()
                .map(|p| format!(" or `{what}` in {}", p.display()))
                .unwrap_or_default();
            ClientError::Usage(format!("no {what}: give {flag}, {var}{file}"))
        };
        let url = self
            .url
            .or(file.url)
            .unwrap_or_else(|| DEFAULT_URL.to_string());
        let url = url.trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ClientError::Usage(format!(
                "the URL must start with http:// or https://, got '{url}'"
            )));
        }
        Ok(Connection {
            url,
            token: self
                .token
                .or(file.token)
                .ok_or_else(|| missing("token", "--token", "ACTUATE_TOKEN"))?,
            tenant: self
                .tenant
                .or(file.tenant)
                .ok_or_else(|| missing("tenant", "--tenant", "ACTUATE_TENANT"))?,
            project: self
                .project
                .or(file.project)
                .ok_or_else(|| missing("project", "--project", "ACTUATE_PROJECT"))?,
        })
    }
}

fn default_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("actuate").join("config.toml"))
}

/// The config file at `path`; a missing default file is no config, a missing named one an
/// error.
fn read_config(path: &Path, explicit: bool) -> Result<ConfigFile, ClientError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return Ok(ConfigFile::default());
        }
        Err(e) => {
            return Err(ClientError::Usage(format!(
                "cannot read the config file {}: {e}",
                path.display()
            )));
        }
    };
    warn_if_readable_by_others(path);
    toml::from_str(&text).map_err(|e| {
        ClientError::Usage(format!(
            "the config file {} is not valid: {e}",
            path.display()
        ))
    })
}

/// A token in a file others can read is a token others have.
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "actuate: warning: {} can be read by other users; `chmod 600` it if it holds a token",
            path.display()
        );
    }
}
