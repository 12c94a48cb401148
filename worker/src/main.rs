use actuate_worker::settings::WorkerSettings;
use actuate_worker::startup::{Worker, shutdown_on_signal};

fn main() -> std::process::ExitCode {
    // The same binary is the Python runner the worker's pool starts.
    if std::env::args().nth(1).as_deref() == Some("python-runner") {
        return actuate_worker::python::runner::main();
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(worker())
}

async fn worker() -> std::process::ExitCode {
    // Several crates bring rustls with different providers; pick one for the process.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let settings = match WorkerSettings::from_env().and_then(|mut s| {
        s.database = s.database.shared_by_processes()?;
        Ok(s)
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("actuate-worker: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let _telemetry = match actuate_shared::telemetry::init(settings.log_format, "actuate-worker") {
        Ok(t) => t,
        Err(e) => {
            eprintln!("actuate-worker: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
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
