//! The command line of `actuate-api`: `serve`, `migrate` and the operator's `keys` commands.
//! Command output goes to stdout (for `keys create`, the token alone, so scripts can capture
//! it); logs go to stderr. [`operator_store`], [`keys`] and [`create_key`] are public: the
//! `actuate` binary's `keys` commands and first start use them too.

use crate::settings::{self, ApiSettings};
use crate::startup::Application;
use actuate_shared::domain::audit::{AuditAction, NewAuditEntry};
use actuate_shared::domain::auth::{ApiKey, Token};
use actuate_shared::domain::ids::{KeyId, ProjectId, TenantId};
use actuate_shared::runtime::{Supervisor, shutdown_signal};
use actuate_shared::settings::{DatabaseSettings, Env, Source};
use actuate_shared::storage::{self, DynStore, Store};
use actuate_shared::telemetry;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "actuate-api",
    version,
    about = "Actuate: the Actions API service"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (settings from the environment; see the README).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Run only the scheduler (and an outbox relay), without the HTTP server; any number of
    /// these may run beside `serve` processes.
    Scheduler,
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the encryption of stored secrets.
    #[command(subcommand)]
    Secrets(SecretsCommand),
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Encrypt every stored secret again under ACTUATE_SECRETS_KEY, after a key rotation:
    /// values under a key in ACTUATE_SECRETS_PREVIOUS_KEYS are decrypted with it and sealed
    /// under the current key. Safe while the service runs; run it again until it prints 0.
    Reseal,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print its token (shown only this once) on stdout.
    Create {
        /// The tenant the key belongs to.
        #[arg(long)]
        tenant: TenantId,
        /// Restrict the key to one project of the tenant.
        #[arg(long)]
        project: Option<ProjectId>,
        /// A label to recognise the key by in `keys list`.
        #[arg(long)]
        name: Option<String>,
        /// The key may only read: every request but GET is refused with 403.
        #[arg(long)]
        read_only: bool,
    },
    /// List keys (never their tokens).
    List,
    /// Revoke a key: requests using it get 401 from then on.
    Revoke {
        /// The key's id, as shown by `keys list`.
        key_id: KeyId,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => {
            let mut settings = ApiSettings::from_env()?;
            settings.database = settings.database.shared_by_processes()?;
            let _telemetry = telemetry::init(settings.log_format, "actuate-api")?;
            Application::build(settings)
                .await?
                .run_until_stopped()
                .await?;
        }
        Command::Scheduler => {
            let mut settings = ApiSettings::from_env()?;
            settings.database = settings.database.shared_by_processes()?;
            let _telemetry = telemetry::init(settings.log_format, "actuate-scheduler")?;
            let store = actuate_shared::storage::open(&settings.database)?;
            store.migrate().await?;
            let relay = actuate_shared::relay::RelayHandle::default();
            let mut tasks = Supervisor::new();
            tasks.spawn("relay", |stop| {
                actuate_shared::relay::run(
                    store.clone(),
                    std::sync::Arc::new(actuate_shared::queue::RabbitBroker::new(
                        settings.queue.clone(),
                    )),
                    relay.clone(),
                    format!("actuate-api scheduler ({})", std::process::id()),
                    stop,
                )
            });
            tasks.spawn("scheduler", |stop| {
                crate::scheduler::run(store, relay, settings.scheduler, stop)
            });
            tracing::info!("scheduler running");
            shutdown_signal().await;
            tasks.shutdown().await;
        }
        Command::Migrate => {
            let store = operator_store(&Env)?;
            store.migrate().await?;
            tracing::info!("migrations applied");
        }
        Command::Keys(command) => {
            let store = operator_store(&Env)?;
            store.migrate().await?;
            keys(&*store, command).await?;
        }
        Command::Secrets(command) => {
            let store = operator_store(&Env)?;
            store.migrate().await?;
            secrets(store, &Env, command).await?;
        }
    }
    Ok(())
}

/// The store for one operator command, on the database `src` names (`DATABASE_URL`): two
/// connections, and the patience of a person at a terminal rather than of a request. Also
/// starts logging (to stderr).
pub fn operator_store(src: &dyn Source) -> anyhow::Result<DynStore> {
    telemetry::init_logs(settings::log_format_from_env()?);
    let database = DatabaseSettings {
        max_connections: 2,
        acquire_timeout: std::time::Duration::from_secs(5),
        ..DatabaseSettings::from_source(src)?
    };
    storage::open(&database)
}

/// Creates a key; its token is returned here and never again (only its hash is stored).
pub async fn create_key(
    store: &dyn Store,
    tenant: TenantId,
    project: Option<ProjectId>,
    name: Option<String>,
    read_only: bool,
) -> anyhow::Result<(ApiKey, Token)> {
    if let Some(n) = &name
        && (n.contains('\0') || n.chars().count() > 200)
    {
        anyhow::bail!("--name must be at most 200 characters without NUL");
    }
    let token = Token::generate();
    let key = store
        .create_api_key(tenant, project, name, read_only, token.hash())
        .await?;
    tracing::info!(key_id = %key.key_id, tenant_id = %tenant, "API key created");
    let access = if read_only { "read-only" } else { "read-write" };
    let summary = match &key.name {
        Some(name) => format!("created {access} key {name:?}"),
        None => format!("created {access} key"),
    };
    crate::audit::record(
        store,
        NewAuditEntry::new(
            tenant,
            project,
            None,
            AuditAction::KeyCreate,
            key.key_id.to_string(),
            summary,
        ),
    )
    .await;
    Ok((key, token))
}

/// Runs a `secrets` command on a migrated store, with the keys `src` gives.
pub async fn secrets(
    store: DynStore,
    src: &dyn Source,
    command: SecretsCommand,
) -> anyhow::Result<()> {
    match command {
        SecretsCommand::Reseal => {
            let keyring = actuate_shared::settings::secrets_keyring(src)?
                .ok_or_else(|| anyhow::anyhow!("ACTUATE_SECRETS_KEY is not set"))?;
            let vault = actuate_shared::vault::Vault::new(store, Some(keyring));
            let resealed = vault.reseal_all().await?;
            tracing::info!(resealed, "secrets sealed again under the current key");
            println!("{resealed}");
        }
    }
    Ok(())
}

/// Runs a `keys` command on a migrated store, printing its output on stdout.
pub async fn keys(store: &dyn Store, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create {
            tenant,
            project,
            name,
            read_only,
        } => {
            let (_, token) = create_key(store, tenant, project, name, read_only).await?;
            println!("{}", token.expose());
        }
        KeysCommand::List => {
            println!("KEY ID\tTENANT\tPROJECT\tNAME\tCREATED\tREVOKED\tACCESS");
            for key in store.list_api_keys().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    key.key_id,
                    key.tenant_id,
                    key.project_id.map_or("*".into(), |p| p.to_string()),
                    key.name.as_deref().unwrap_or("-"),
                    key.created_at.to_rfc3339(),
                    key.revoked_at.map_or("-".into(), |t| t.to_rfc3339()),
                    if key.read_only {
                        "read-only"
                    } else {
                        "read-write"
                    },
                );
            }
        }
        KeysCommand::Revoke { key_id } => {
            let key = store
                .list_api_keys()
                .await?
                .into_iter()
                .find(|k| k.key_id == key_id)
                .ok_or_else(|| anyhow::anyhow!("no API key with id {key_id}"))?;
            if !store.revoke_api_key(key_id).await? {
                anyhow::bail!("no API key with id {key_id}");
            }
            tracing::info!(%key_id, "API key revoked");
            // Revoking twice changes nothing: recorded once.
            if key.revoked_at.is_none() {
                crate::audit::record(
                    store,
                    NewAuditEntry::new(
                        key.tenant_id,
                        key.project_id,
                        None,
                        AuditAction::KeyRevoke,
                        key_id.to_string(),
                        "revoked",
                    ),
                )
                .await;
            }
            println!("revoked {key_id}");
        }
    }
    Ok(())
}
