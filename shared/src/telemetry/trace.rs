//! OpenTelemetry traces: exported over OTLP/HTTP (protobuf) when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, off otherwise. The standard `OTEL_*`
//! variables (service name, headers, sampler, batch delays) are read by the SDK.
//!
//! One trace follows an execution: the API's request span is the root (or continues the
//! caller's `traceparent`), the execution row keeps that span's `traceparent`, the relay puts
//! it in the queue message's headers, each claim of the execution is a span under it and each
//! step a span under the claim; webhooks carry the step's `traceparent`. These helpers speak
//! W3C trace-context strings, so no OpenTelemetry type leaves this module. With export off they
//! answer `None` and change nothing.

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::collections::HashMap;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C header (and AMQP header) carrying a span's context.
pub const TRACEPARENT: &str = "traceparent";

/// Whether the environment asks for trace export.
pub(super) fn export_requested() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
}

/// A tracer provider exporting in batches to the OTLP endpoint, as `service` unless
/// `OTEL_SERVICE_NAME` names it otherwise.
pub(super) fn provider(service: &'static str) -> anyhow::Result<SdkTracerProvider> {
    use opentelemetry_otlp::{SpanExporter, WithExportConfig};
    // The exporter's blocking HTTP client must not be made (or dropped) on an async runtime's
    // thread; it lives on the batch processor's own thread afterwards.
    let exporter = std::thread::spawn(|| {
        SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .build()
    })
    .join()
    .map_err(|_| anyhow::anyhow!("building the OTLP exporter panicked"))?
    .map_err(|e| anyhow::anyhow!("OTLP exporter: {e}"))?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service);
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}

/// The tracing layer sending spans to `provider`.
pub(super) fn layer<S>(
    provider: &SdkTracerProvider,
    service: &'static str,
) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer(service))
}

/// `span`'s context as a `traceparent` value; `None` when spans are not exported.
pub fn trace_parent(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// Makes `span` (not yet entered) a child of the span `traceparent` names, and records its
/// trace id in its `trace_id` field (declared empty) so log lines carry it. A missing or
/// malformed value leaves `span` a root of its own.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    if let Some(value) = traceparent {
        let carrier = HashMap::from([(TRACEPARENT.to_string(), value.to_string())]);
        let parent = TraceContextPropagator::new().extract(&carrier);
        if parent.span().span_context().is_valid() {
            // Fails only when spans are not exported or the span already started.
            let _ = span.set_parent(parent);
        }
    }
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        span.record("trace_id", tracing::field::display(span_context.trace_id()));
    }
}
