//! Builds the HTTP application from settings. `Application::build` binds the listener (port 0
//! works, for tests) and `run_until_stopped` serves until SIGTERM or Ctrl-C.
//! [`Application::with_parts`] takes a store and a broker made elsewhere: standalone mode
//! shares both with the worker of the same process.

use crate::cors::CorsOrigins;
use crate::error::ApiError;
use crate::extract::BODY_LIMIT;
use crate::rate_limit::ExecuteLimiter;
use crate::settings::ApiSettings;
use crate::storage_gate::{self, StorageGate};
use crate::{routes, scheduler};
use actuate_shared::queue::{DynBroker, RabbitBroker};
use actuate_shared::relay::{self, RelayHandle};
use actuate_shared::runtime::{Supervisor, shutdown_signal};
use actuate_shared::storage::{self, DynStore};
use actuate_shared::telemetry;
use actuate_shared::vault::Vault;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::response::IntoResponse;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub relay: RelayHandle,
    /// The per-tenant execute limit of this process; every route that creates executions on
    /// request checks it after authentication, before writing.
    pub execute_limiter: Arc<ExecuteLimiter>,
    /// Seals secrets before they are stored (`ACTUATE_SECRETS_KEY`).
    pub vault: Vault,
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    /// Wakes this application's relay.
    relay: RelayHandle,
    /// The relay, the scheduler (when enabled) and the storage gate's probe.
    tasks: Supervisor,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

impl Application {
    /// Connects storage (applying migrations when configured) and binds the listener.
    pub async fn build(settings: ApiSettings) -> anyhow::Result<Self> {
        let store = storage::open(&settings.database)?;
        if settings.auto_migrate {
            store.migrate().await?;
        }
        Self::with_store(settings, store).await
    }

    /// On a store opened (and migrated) by the caller, publishing to RabbitMQ.
    pub async fn with_store(settings: ApiSettings, store: DynStore) -> anyhow::Result<Self> {
        let broker: DynBroker = Arc::new(RabbitBroker::new(settings.queue.clone()));
        Self::with_parts(settings, store, broker).await
    }

    /// On a store and a broker made by the caller (`settings.database` and `settings.queue`
    /// are not used): the relay publishes this store's outbox to `broker`.
    pub async fn with_parts(
        settings: ApiSettings,
        store: DynStore,
        broker: DynBroker,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        let relay = RelayHandle::default();
        let mut tasks = Supervisor::new();
        tasks.spawn("relay", |stop| {
            relay::run(
                store.clone(),
                broker,
                relay.clone(),
                format!("actuate-api relay ({})", std::process::id()),
                stop,
            )
        });
        if settings.scheduler.enabled {
            tasks.spawn("scheduler", |stop| {
                scheduler::run(store.clone(), relay.clone(), settings.scheduler, stop)
            });
        }
        actuate_shared::telemetry::metrics_handle();
        let gate = Arc::new(StorageGate::default());
        tasks.spawn("storage gate probe", |stop| {
            gate.clone().probe(store.clone(), stop)
        });
        let router = app(
            AppState {
                vault: Vault::new(store.clone(), settings.secrets.clone()),
                store,
                relay: relay.clone(),
                execute_limiter: Arc::new(ExecuteLimiter::new(settings.execute_rate_limit)),
            },
            gate,
            &settings.cors,
        );
        Ok(Self {
            listener,
            router,
            relay,
            tasks,
        })
    }

    /// Wakes this application's relay: for other writers of the outbox in the same process.
    /// The relay stops with the HTTP server.
    pub fn relay(&self) -> RelayHandle {
        self.relay.clone()
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Cancelling this token stops the application as SIGTERM does.
    pub fn stop_token(&self) -> CancellationToken {
        self.tasks.stop_token()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        tracing::info!(addr = %self.listener.local_addr()?, "listening");
        let stop = self.tasks.stop_token();
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move {
                tokio::select! {
                    () = shutdown_signal() => {},
                    () = stop.cancelled() => {},
                }
            })
            .await;
        // Rows left in the outbox are published by another replica or after a restart.
        self.tasks.shutdown().await;
        served
    }
}

/// The router with its middleware: request ids (echoed or new) on every response, a span per
/// request carrying that id, a 1 MiB body limit, panics turned into opaque 500s, and the
/// storage gate's fast 503s during a database outage; CORS when `ACTUATE_CORS_ORIGINS` is set.
pub fn app(state: AppState, gate: Arc<StorageGate>, cors: &CorsOrigins) -> Router {
    let router = routes::router(state)
        .layer(axum::middleware::from_fn_with_state(
            gate,
            storage_gate::gate,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let request_id = request
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    // The path only: query strings are never logged, and neither are headers.
                    let span = tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id,
                        trace_id = tracing::field::Empty,
                    );
                    // A caller's traceparent makes this request a span of the caller's trace;
                    // executions created here join it (see `telemetry`).
                    let caller = request
                        .headers()
                        .get(telemetry::TRACEPARENT)
                        .and_then(|v| v.to_str().ok());
                    telemetry::continue_trace(&span, caller);
                    span
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                .on_failure(DefaultOnFailure::new().level(Level::ERROR)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
    // Outermost: a preflight is answered before routing, which knows no OPTIONS.
    match cors.layer() {
        Some(layer) => router.layer(layer),
        None => router,
    }
}
