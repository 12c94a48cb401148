//! The worker's settings, read once from the environment at start (see the README's table).

use crate::net_guard::NetGuard;
use crate::python::{Limits, NetworkPolicy, PoolConfig, RunnerUser};
use actuate_shared::crypto::Keyring;
use actuate_shared::domain::draft::limits::RETENTION_DAYS_MAX;
use actuate_shared::queue::QueueSettings;
use actuate_shared::settings::{self, DatabaseSettings, SettingError, Source};
use actuate_shared::telemetry::LogFormat;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct WorkerSettings {
    pub database: DatabaseSettings,
    pub queue: QueueSettings,
    /// `ACTUATE_WORKER_CONCURRENCY`: executions run at once; also the broker prefetch.
    pub concurrency: usize,
    /// `ACTUATE_SHUTDOWN_GRACE`: on SIGTERM, how long running executions may take to finish
    /// before they are released to other workers.
    pub shutdown_grace: Duration,
    /// `ACTUATE_LEASE_SECONDS`: a claim's lease; heartbeats renew it every third of it, and an
    /// execution whose lease ran out is taken over by a reaper.
    pub lease: Duration,
    /// `ACTUATE_DB_OUTAGE_GRACE`: how long a database outage may last with this worker
    /// keeping its claims: writes are retried and steps go on for this long past the lease;
    /// after that the worker leaves its executions to the reapers.
    pub db_outage_grace: Duration,
    /// `ACTUATE_MAX_ATTEMPTS`: claims of one execution before a lost one is failed.
    pub max_attempts: i32,
    /// `ACTUATE_REQUEUE_STALE_AFTER`: a Queued execution no worker took for this long is
    /// published again (a backstop for messages lost by the broker).
    pub requeue_stale_after: Duration,
    /// `ACTUATE_RETENTION_DAYS`: finished executions are deleted this many days after they
    /// ended, unless their action says otherwise (`retentionDays`); 0 keeps them forever.
    pub retention_days: i32,
    /// `ACTUATE_WEBHOOK_ALLOW`: private destinations webhooks may reach anyway.
    pub webhook_guard: NetGuard,
    /// `ACTUATE_WORKER_ID`: names this process in leases and logs.
    pub worker_id: String,
    /// `ACTUATE_WORKER_BIND`: where `/healthz` and `/metrics` are served.
    pub bind: SocketAddr,
    pub log_format: LogFormat,
    /// The Python runner pool: `ACTUATE_PYTHON_RUNNERS`, `ACTUATE_PYTHON_RECYCLE_AFTER`,
    /// `ACTUATE_PYTHON_PATH`, `ACTUATE_PYTHON_LIMIT_*`.
    pub python: PoolConfig,
    /// `ACTUATE_PYTHON_SCRIPTS`: where `{"script": "name.py"}` steps are found.
    pub python_scripts: Option<PathBuf>,
    /// `ACTUATE_SMTP_*`; `None` when no host is set: Email steps then fail with a note.
    pub smtp: Option<SmtpSettings>,
    /// `ACTUATE_EMAIL_MAX_RECIPIENTS`: recipients (to, cc and bcc) of one Email step.
    pub email_max_recipients: usize,
    /// `ACTUATE_SECRETS_KEY` (and `ACTUATE_SECRETS_PREVIOUS_KEYS`): opens the project secrets
    /// steps use and signs webhooks; `None`: such steps fail and webhooks go unsigned.
    pub secrets: Option<Keyring>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    None,
    StartTls,
    Tls,
}

impl std::str::FromStr for SmtpTls {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Self::None),
            "starttls" => Ok(Self::StartTls),
            "tls" => Ok(Self::Tls),
            other => Err(format!("expected none, starttls or tls, got '{other}'")),
        }
    }
}

#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: lettre::message::Mailbox,
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    // The password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from.to_string())
            .finish()
    }
}

fn smtp(src: &dyn Source) -> Result<Option<SmtpSettings>, SettingError> {
    let host: String = settings::parsed(src, "ACTUATE_SMTP_HOST", String::new())?;
    if host.is_empty() {
        return Ok(None);
    }
    let tls: SmtpTls = settings::parsed(src, "ACTUATE_SMTP_TLS", SmtpTls::StartTls)?;
    let default_port = match tls {
        SmtpTls::None => 25,
        SmtpTls::StartTls => 587,
        SmtpTls::Tls => 465,
    };
    let from: String =
        settings::required(src, "ACTUATE_SMTP_FROM", "the From address of Email steps")?;
    let from = from.parse().map_err(|e| SettingError {
        name: "ACTUATE_SMTP_FROM",
        problem: format!("'{from}' is not an address: {e}"),
    })?;
    let optional = |name| {
        settings::parsed(src, name, String::new()).map(|v| Some(v).filter(|v| !v.is_empty()))
    };
    let username = optional("ACTUATE_SMTP_USERNAME")?;
    let password = optional("ACTUATE_SMTP_PASSWORD")?;
    // Credentials sent over a connection anyone on the path can read: only when asked for.
    if tls == SmtpTls::None && (username.is_some() || password.is_some()) {
        let allowed: bool = settings::parsed(src, "ACTUATE_SMTP_ALLOW_PLAINTEXT_AUTH", false)?;
        if !allowed {
            return Err(SettingError {
                name: "ACTUATE_SMTP_TLS",
                problem: "is none while ACTUATE_SMTP_USERNAME or ACTUATE_SMTP_PASSWORD is set: \
                          the credentials would cross the network in the clear; use starttls or \
                          tls, or set ACTUATE_SMTP_ALLOW_PLAINTEXT_AUTH=true"
                    .into(),
            });
        }
    }
    Ok(Some(SmtpSettings {
        host,
        port: settings::parsed(src, "ACTUATE_SMTP_PORT", default_port)?,
        tls,
        username,
        password,
        from,
        timeout: seconds(src, "ACTUATE_SMTP_TIMEOUT_SECONDS", 30, 1)?,
    }))
}

fn seconds(
    src: &dyn Source,
    name: &'static str,
    default: u64,
    min: u64,
) -> Result<Duration, SettingError> {
    let value: u64 = settings::parsed(src, name, default)?;
    if value < min {
        return Err(SettingError {
            name,
            problem: format!("must be at least {min} seconds"),
        });
    }
    Ok(Duration::from_secs(value))
}

fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}

const MIB: u64 = 1024 * 1024;

fn python_pool(src: &dyn Source) -> Result<PoolConfig, SettingError> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let size: usize = settings::parsed(src, "ACTUATE_PYTHON_RUNNERS", cores)?;
    if !(1..=256).contains(&size) {
        return Err(SettingError {
            name: "ACTUATE_PYTHON_RUNNERS",
            problem: "must be between 1 and 256".into(),
        });
    }
    // Runners are this very executable (`actuate-worker` or `actuate`), started as
    // `<exe> python-runner`: every binary that embeds the worker dispatches that argument.
    let exe = std::env::current_exe().map_err(|e| SettingError {
        name: "ACTUATE_PYTHON_RUNNERS",
        problem: format!("cannot find this executable to start runners from: {e}"),
    })?;
    let default = Limits::default();
    Ok(PoolConfig {
        exe,
        size,
        recycle_after: settings::parsed(src, "ACTUATE_PYTHON_RECYCLE_AFTER", 1000u32)?.max(1),
        limits: Limits {
            address_space_bytes: settings::parsed(
                src,
                "ACTUATE_PYTHON_LIMIT_MEMORY_MB",
                default.address_space_bytes / MIB,
            )? * MIB,
            cpu_seconds: settings::parsed(
                src,
                "ACTUATE_PYTHON_LIMIT_CPU_SECONDS",
                default.cpu_seconds,
            )?,
            open_files: settings::parsed(
                src,
                "ACTUATE_PYTHON_LIMIT_OPEN_FILES",
                default.open_files,
            )?,
            processes: settings::parsed(src, "ACTUATE_PYTHON_LIMIT_PROCESSES", default.processes)?,
            file_size_bytes: settings::parsed(
                src,
                "ACTUATE_PYTHON_LIMIT_FILE_SIZE_MB",
                default.file_size_bytes / MIB,
            )? * MIB,
        },
        python_path: Some(settings::parsed(src, "ACTUATE_PYTHON_PATH", String::new())?)
            .filter(|p| !p.is_empty()),
        user: runner_user(src)?,
        network: settings::parsed(src, "ACTUATE_PYTHON_NETWORK", NetworkPolicy::None)?,
        preload: settings::parsed(src, "ACTUATE_PYTHON_PRELOAD", String::new())?
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(String::from)
            .collect(),
    })
}

/// `ACTUATE_PYTHON_USER`: as root, runners never share the worker's user (default `nobody`);
/// otherwise they run as the worker's own user, and naming another is an error.
fn runner_user(src: &dyn Source) -> Result<Option<RunnerUser>, SettingError> {
    let name = "ACTUATE_PYTHON_USER";
    let spec: String = settings::parsed(src, name, String::new())?;
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let problem = |problem: String| SettingError { name, problem };
    if !root {
        if spec.is_empty() {
            return Ok(None);
        }
        let wanted = RunnerUser::lookup(&spec).map_err(problem)?;
        // SAFETY: geteuid has no preconditions.
        if wanted.uid != unsafe { libc::geteuid() } {
            return Err(problem(format!(
                "runners can run as '{spec}' only when the worker starts as root"
            )));
        }
        return Ok(None);
    }
    let spec = if spec.is_empty() {
        "nobody".to_string()
    } else {
        spec
    };
    let user = RunnerUser::lookup(&spec).map_err(problem)?;
    if user.uid == 0 {
        return Err(problem(
            "runners must not run as root: user code could read the worker's secrets".into(),
        ));
    }
    Ok(Some(user))
}

impl WorkerSettings {
    pub fn from_env() -> Result<Self, SettingError> {
        Self::from_source(&settings::Env)
    }

    pub fn from_source(src: &dyn Source) -> Result<Self, SettingError> {
        let concurrency: usize = settings::parsed(src, "ACTUATE_WORKER_CONCURRENCY", 8)?;
        if !(1..=1000).contains(&concurrency) {
            return Err(SettingError {
                name: "ACTUATE_WORKER_CONCURRENCY",
                problem: "must be between 1 and 1000".into(),
            });
        }
        let max_attempts: i32 = settings::parsed(src, "ACTUATE_MAX_ATTEMPTS", 5)?;
        if max_attempts < 1 {
            return Err(SettingError {
                name: "ACTUATE_MAX_ATTEMPTS",
                problem: "must be at least 1".into(),
            });
        }
        let retention_days: i32 = settings::parsed(src, "ACTUATE_RETENTION_DAYS", 30)?;
        if !(0..=RETENTION_DAYS_MAX as i32).contains(&retention_days) {
            return Err(SettingError {
                name: "ACTUATE_RETENTION_DAYS",
                problem: format!("must be between 0 (keep forever) and {RETENTION_DAYS_MAX} days"),
            });
        }
        let allow = settings::parsed(src, "ACTUATE_WEBHOOK_ALLOW", String::new())?;
        let allow = NetGuard::parse_allowlist(&allow).map_err(|problem| SettingError {
            name: "ACTUATE_WEBHOOK_ALLOW",
            problem,
        })?;
        Ok(Self {
            database: DatabaseSettings::from_source(src)?,
            queue: QueueSettings::from_source(src)?,
            concurrency,
            shutdown_grace: seconds(src, "ACTUATE_SHUTDOWN_GRACE", 30, 0)?,
            lease: seconds(src, "ACTUATE_LEASE_SECONDS", 30, 1)?,
            db_outage_grace: seconds(src, "ACTUATE_DB_OUTAGE_GRACE", 60, 0)?,
            max_attempts,
            requeue_stale_after: seconds(src, "ACTUATE_REQUEUE_STALE_AFTER", 900, 1)?,
            retention_days,
            webhook_guard: NetGuard::new(allow),
            worker_id: settings::parsed(src, "ACTUATE_WORKER_ID", default_worker_id())?,
            bind: settings::parsed(
                src,
                "ACTUATE_WORKER_BIND",
                SocketAddr::from(([127, 0, 0, 1], 9090)),
            )?,
            log_format: settings::parsed(src, "ACTUATE_LOG_FORMAT", LogFormat::Text)?,
            python: python_pool(src)?,
            python_scripts: settings::parsed(src, "ACTUATE_PYTHON_SCRIPTS", String::new())
                .map(|s| Some(PathBuf::from(s)).filter(|p| !p.as_os_str().is_empty()))?,
            smtp: smtp(src)?,
            email_max_recipients: settings::parsed(src, "ACTUATE_EMAIL_MAX_RECIPIENTS", 100usize)?,
            secrets: settings::secrets_keyring(src)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn source(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plaintext_smtp_credentials_need_an_explicit_setting() {
        let base = [
            ("ACTUATE_SMTP_HOST", "mail.example.com"),
            ("ACTUATE_SMTP_FROM", "a@example.com"),
            ("ACTUATE_SMTP_TLS", "none"),
        ];
        assert!(
            smtp(&source(&base)).unwrap().is_some(),
            "no credentials: fine"
        );
        let with_user = [
            &base[..],
            &[
                ("ACTUATE_SMTP_USERNAME", "u"),
                ("ACTUATE_SMTP_PASSWORD", "p"),
            ],
        ]
        .concat();
        let err = smtp(&source(&with_user)).unwrap_err().to_string();
        assert!(err.contains("ACTUATE_SMTP_ALLOW_PLAINTEXT_AUTH"), "{err}");
        assert!(
            !err.contains("=p") && !err.contains(" p "),
            "the password is not shown: {err}"
        );
        let allowed = [
            &with_user[..],
            &[("ACTUATE_SMTP_ALLOW_PLAINTEXT_AUTH", "true")],
        ]
        .concat();
        assert!(smtp(&source(&allowed)).unwrap().is_some());
        let tls = [&with_user[..], &[("ACTUATE_SMTP_TLS", "starttls")]].concat();
        let tls: HashMap<_, _> = source(&tls);
        assert!(smtp(&tls).unwrap().is_some());
    }
}
