use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = actuate_api::cli::Cli::parse();
    match actuate_api::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("actuate-api: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
