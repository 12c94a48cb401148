//! What `actuate standalone` prints on stdout once it is up. The first start (no API key in
//! the store yet) creates a tenant, a project and a key for them, and prints the ids, the base
//! URL and the token: the token on its own line, and never again (only its hash is stored).
//! Later starts print the base URL of that project and a hint.

use actuate_shared::domain::auth::ApiKey;
use actuate_shared::domain::ids::{ProjectId, TenantId};
use actuate_shared::storage::Store;
use std::net::SocketAddr;

/// The name of the key the first start creates.
const FIRST_KEY: &str = "standalone";

pub async fn greet(store: &dyn Store, address: SocketAddr) -> anyhow::Result<()> {
    let keys = store.list_api_keys().await?;
    if keys.is_empty() {
        let (tenant, project) = (TenantId::new(), ProjectId::new());
        let (_, token) = actuate_api::cli::create_key(
            store,
            tenant,
            Some(project),
            Some(FIRST_KEY.into()),
            false,
        )
        .await?;
        println!("Actuate standalone: first start; created an API key.");
        println!("Tenant:   {tenant}");
        println!("Project:  {project}");
        println!("Base URL: {}", base_url(address, &tenant, &project));
        println!("Dashboard: http://{address}/ui (sign in with the key)");
        println!("API key (shown only this once; send it as 'Authorization: Bearer <key>'):");
        println!("{}", token.expose());
        return Ok(());
    }
    match first_project(&keys) {
        Some((tenant, project)) => {
            println!("Actuate standalone");
            println!("Base URL: {}", base_url(address, &tenant, &project));
        }
        None => {
            println!("Actuate standalone");
            println!(
                "Base URL: {}",
                base_url(address, &"<tenantId>", &"<projectId>")
            );
        }
    }
    println!("Dashboard: http://{address}/ui");
    println!(
        "API keys: the first one was printed at the first start; `actuate keys list` shows them \
         all, `actuate keys create --tenant <id> [--project <id>]` makes another."
    );
    Ok(())
}

fn base_url(
    address: SocketAddr,
    tenant: &dyn std::fmt::Display,
    project: &dyn std::fmt::Display,
) -> String {
    format!("http://{address}/api/{tenant}/{project}")
}

/// The project of the first start's key, else of the oldest key bound to a project.
fn first_project(keys: &[ApiKey]) -> Option<(TenantId, ProjectId)> {
    keys.iter()
        .filter_map(|k| k.project_id.map(|p| (k, p)))
        .min_by_key(|(k, _)| (k.name.as_deref() != Some(FIRST_KEY), k.created_at))
        .map(|(k, project)| (k.tenant_id, project))
}
