//! `actuate keys create | list | revoke`: `actuate-api`'s key commands, on standalone mode's
//! SQLite file (created and migrated when absent). `keys create` prints the token as its last
//! line on stdout, shown only this once. It may run beside a running `actuate standalone`:
//! SQLite lets the two processes take turns writing.

use crate::data::StandaloneEnv;
use actuate_api::cli::{self, KeysCommand};

pub async fn run(command: KeysCommand) -> anyhow::Result<()> {
    let store = cli::operator_store(&StandaloneEnv::from_env()?)?;
    store.migrate().await?;
    cli::keys(&*store, command).await
}
