//! The accept stage: the listener, connection settings, the router, the
//! header limits every request passes first, and the health and metrics
//! endpoints.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use http::{HeaderValue, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower_service::Service;

use crate::dialect::{ApiError, Dialect, ErrorKind};
use crate::gateway::{Gateway, json_response};
use crate::parse::Operation;

/// Hard ceiling on request header bytes that hyper buffers; requests over
/// it get hyper's bare 431. The configured limit below it gets one in dialect.
pub const HARD_MAX_HEADER_BYTES: usize = 64 * 1024;
/// Hard ceiling on the number of request headers hyper parses.
pub const HARD_MAX_HEADERS: usize = 256;

/// The caller's dialect, guessed from the path (for errors before routing).
fn dialect_of(path: &str) -> Dialect {
    if path.starts_with("/v1/messages") {
        Dialect::Anthropic
    } else {
        Dialect::OpenAi
    }
}

async fn header_limits(State(gateway): State<Gateway>, request: Request, next: Next) -> Response {
    let limits = &gateway.inner.limits;
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > limits.max_headers || bytes > limits.max_header_bytes {
        let message = format!(
            "request headers exceed the gateway's limits ({} headers, {} bytes)",
            limits.max_headers, limits.max_header_bytes
        );
        return ApiError::new(ErrorKind::HeadersTooLarge, message)
            .into_response(dialect_of(request.uri().path()));
    }
    next.run(request).await
}

async fn chat(State(g): State<Gateway>, r: Request) -> Response {
    g.model_call(Operation::ChatCompletions, r).await
}
async fn completions(State(g): State<Gateway>, r: Request) -> Response {
    g.model_call(Operation::Completions, r).await
}
async fn embeddings(State(g): State<Gateway>, r: Request) -> Response {
    g.model_call(Operation::Embeddings, r).await
}
async fn messages(State(g): State<Gateway>, r: Request) -> Response {
    g.model_call(Operation::Messages, r).await
}
async fn models(State(g): State<Gateway>, r: Request) -> Response {
    g.list_models(r, None).await
}
async fn model(State(g): State<Gateway>, Path(id): Path<String>, r: Request) -> Response {
    g.list_models(r, Some(id)).await
}

async fn healthz() -> Response {
    json_response(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(g): State<Gateway>) -> Response {
    let reason = match g.inner.store.ping().await {
        Err(e) => {
            tracing::warn!(error = %e, "store not reachable");
            Some("store unreachable")
        }
        Ok(()) if !g.inner.audit.healthy() => Some("audit log cannot write"),
        Ok(()) => None,
    };
    match reason {
        None => json_response(serde_json::json!({ "status": "ready" })),
        Some(reason) => {
            let mut r = json_response(serde_json::json!({
                "status": "not_ready", "reason": reason
            }));
            *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            r
        }
    }
}

async fn metrics(State(g): State<Gateway>) -> Response {
    let mut r = Response::new(Body::from(g.metrics().render()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}

async fn not_found(request: Request) -> Response {
    ApiError::new(ErrorKind::NotFound, "unknown path")
        .into_response(dialect_of(request.uri().path()))
}

async fn method_not_allowed(request: Request) -> Response {
    ApiError::new(
        ErrorKind::MethodNotAllowed,
        "method not allowed on this path",
    )
    .into_response(dialect_of(request.uri().path()))
}

impl Gateway {
    /// The HTTP routes of the data plane.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/completions", post(completions))
            .route("/v1/embeddings", post(embeddings))
            .route("/v1/messages", post(messages))
            .route("/v1/models", get(models))
            .route("/v1/models/{id}", get(model))
            .route("/oauth2/token", post(crate::oauth::token))
            .route("/.well-known/jwks.json", get(crate::wellknown::jwks))
            .route(
                "/.well-known/openid-configuration",
                get(crate::wellknown::discovery),
            )
            .nest("/admin/v1", crate::admin::routes())
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(middleware::from_fn_with_state(self.clone(), header_limits))
            .with_state(self.clone())
    }

    /// Serves connections from `listener` until `shutdown` resolves, then
    /// waits up to the configured grace period for open requests.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let router = self.router();
        let graceful = GracefulShutdown::new();
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.inner.header_read_timeout)
            .max_buf_size(HARD_MAX_HEADER_BYTES)
            .max_headers(HARD_MAX_HEADERS)
            .keep_alive(true);
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and similar: back off briefly.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let router = router.clone();
            let service =
                hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ClientAddr(peer));
                    let mut router = router.clone();
                    async move {
                        let response: Result<Response, Infallible> =
                            router.call(request.map(Body::new)).await;
                        response
                    }
                });
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            });
        }
        drop(listener);
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all connections closed"),
            () = tokio::time::sleep(self.inner.shutdown_grace) => {
                tracing::warn!("shutdown grace period over; closing open connections");
            }
        }
        if let Err(e) = self.inner.identity.flush_usage().await {
            tracing::warn!(error = %e, "could not record last key use at shutdown");
        }
    }

    /// Keeps this replica in step with the store: re-reads revocations,
    /// identity status and signing keys that the CLI or other replicas
    /// changed (every `tokens.sync_interval`), retires expired signing keys
    /// and prunes expired revocations (every minute).
    pub fn spawn_state_sync(&self) -> tokio::task::JoinHandle<()> {
        let gateway = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(gateway.inner.sync_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_housekeeping = std::time::Instant::now();
            let mut expiries_until = crate::gateway::unix_now();
            loop {
                tick.tick().await;
                let now = crate::gateway::unix_now();
                if let Err(e) = gateway.inner.identity.refresh(now).await {
                    tracing::warn!(error = %e, "could not refresh revocations and signing keys");
                }
                if last_housekeeping.elapsed() >= gateway.inner.housekeeping_interval {
                    last_housekeeping = std::time::Instant::now();
                    match gateway.inner.tokens.retire_signing_keys(now).await {
                        Ok(retired) if !retired.is_empty() => {
                            tracing::info!(?retired, "signing keys retired")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "could not retire signing keys"),
                    }
                    if let Err(e) = gateway.inner.tokens.prune_revocations(now).await {
                        tracing::warn!(error = %e, "could not prune expired revocations");
                    }
                    gateway.record_grant_expiries(expiries_until, now).await;
                    expiries_until = now;
                }
            }
        })
    }

    /// Writes buffered credential-use times to the store every `every`.
    pub fn spawn_usage_flusher(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let identity = self.inner.identity.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = identity.flush_usage().await {
                    tracing::warn!(error = %e, "could not record last key use");
                }
            }
        })
    }
}

/// The client's socket address, attached to each request.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);
