//! `actuate secrets reseal`: `actuate-api`'s command, on standalone mode's SQLite file, with
//! the key standalone mode uses (`ACTUATE_SECRETS_KEY`, else the key file beside the data).

use crate::data::StandaloneEnv;
use actuate_api::cli::{self, SecretsCommand};

pub async fn run(command: SecretsCommand) -> anyhow::Result<()> {
    let source = StandaloneEnv::from_env()?.with_secrets_key()?;
    let store = cli::operator_store(&source)?;
    store.migrate().await?;
    cli::secrets(store, &source, command).await
}
