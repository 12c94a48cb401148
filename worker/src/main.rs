use actuate_worker::settings::WorkerSettings;
use actuate_worker::startup::{Worker, shutdown_on_signal};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let settings = match WorkerSettings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("actuate-worker: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    actuate_shared::telemetry::init(settings.log_format);
    match Worker::build(settings).await {
        Ok(worker) => {
            worker.run(shutdown_on_signal()).await;
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("actuate-worker: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
