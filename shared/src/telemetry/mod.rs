//! Structured logging through `tracing`: JSON lines for machines (`ACTUATE_LOG_FORMAT=json`),
//! compact text for people; the level comes from `RUST_LOG` (default `info`). Spans also go to
//! OpenTelemetry when an OTLP endpoint is configured (`trace.rs`), and Prometheus metrics are
//! rendered from one recorder per process.

mod trace;

pub use trace::{TRACEPARENT, continue_trace, trace_parent};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("expected 'text' or 'json', got '{other}'")),
        }
    }
}

/// Installs the global subscriber; logs go to stderr so stdout stays free for command output
/// (such as a newly created token). Spans are exported as `service` when the environment names
/// an OTLP endpoint. Keep the answer until the process ends: dropping it sends the spans still
/// buffered. Calling it twice is harmless (the first subscriber stays).
pub fn init(format: LogFormat, service: &'static str) -> anyhow::Result<Telemetry> {
    let provider = if trace::export_requested() {
        Some(trace::provider(service)?)
    } else {
        None
    };
    install(format, provider.as_ref(), service);
    Ok(Telemetry { provider })
}

/// Logging only, never span export: for short operator commands.
pub fn init_logs(format: LogFormat) {
    install(format, None, "actuate");
}

fn install(
    format: LogFormat,
    provider: Option<&opentelemetry_sdk::trace::SdkTracerProvider>,
    service: &'static str,
) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let logs = match format {
        LogFormat::Json => logs.json().flatten_event(true).boxed(),
        LogFormat::Text => logs.compact().boxed(),
    };
    let spans = provider.map(|p| trace::layer(p, service));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(spans)
        .try_init();
}

/// The process's span exporter, if any: flushed and stopped when dropped.
#[must_use = "dropping it stops span export"]
pub struct Telemetry {
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("span export did not end cleanly: {e}");
        }
    }
}

/// The process's Prometheus recorder, installed on first use (tests start several apps in one
/// process; a recorder can be installed only once). Histograms ending in `_seconds` get
/// buckets, so they aggregate across pods.
pub fn metrics_handle() -> metrics_exporter_prometheus::PrometheusHandle {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    use std::sync::OnceLock;
    static HANDLE: OnceLock<metrics_exporter_prometheus::PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                        10.0, 30.0, 60.0, 300.0,
                    ],
                )
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; then ours stays unused.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
