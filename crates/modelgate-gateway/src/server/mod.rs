//! The listeners: the data plane's routes beside whatever the binary mounts
//! next to them (the control plane), the accept stage's header limits over
//! all of them, connection settings and caps, and graceful shutdown.
//!
//! Each configured listener ([`Listener`]: main, admin, metrics) has its own
//! accept loop, router and connection caps ([`connections`]); all share one
//! shutdown.

pub mod connections;
mod listener;
pub mod tls;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, post};
use hyper_util::rt::TokioTimer;
use hyper_util::server::graceful::GracefulShutdown;
use modelgate_config::{HARD_MAX_HEADER_BYTES, HARD_MAX_HEADERS};
use modelgate_types::Operation;
use tokio::task::JoinSet;

use crate::Gateway;
use crate::api_error::{ApiError, ErrorKind};
use crate::models::Listing;
use crate::stages::accept::{dialect_of, header_limits};
use connections::{ConnectionCaps, ConnectionLimits};
pub use listener::Listener;
use listener::{Serving, accept_loop};

async fn chat(State(g): State<Gateway>, r: Request) -> Response {
    crate::pipeline::model_call(&g, Operation::ChatCompletions, r).await
}
async fn completions(State(g): State<Gateway>, r: Request) -> Response {
    crate::pipeline::model_call(&g, Operation::Completions, r).await
}
async fn embeddings(State(g): State<Gateway>, r: Request) -> Response {
    crate::pipeline::model_call(&g, Operation::Embeddings, r).await
}
async fn messages(State(g): State<Gateway>, r: Request) -> Response {
    crate::pipeline::model_call(&g, Operation::Messages, r).await
}
async fn models(State(g): State<Gateway>, r: Request) -> Response {
    crate::models::list_models(&g, r, Listing::All).await
}
/// An id that is not a readable path segment (not UTF-8 once decoded) names
/// no model: refused like an unknown one, in the caller's dialect, never
/// with axum's plain-text rejection.
async fn model(
    State(g): State<Gateway>,
    id: Result<Path<String>, PathRejection>,
    r: Request,
) -> Response {
    let listing = match id {
        Ok(Path(id)) => Listing::One(id),
        Err(_) => Listing::Unreadable,
    };
    crate::models::list_models(&g, r, listing).await
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
    /// The data plane's routes, with `beside` (the control plane's routes)
    /// merged in, unknown paths and methods answered in dialect, and the
    /// header limits applied to every request.
    pub fn router(&self, beside: Router) -> Router {
        let data = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/completions", post(completions))
            .route("/v1/embeddings", post(embeddings))
            .route("/v1/messages", post(messages))
            .route("/v1/models", get(models))
            .route("/v1/models/{id}", get(model))
            .with_state(self.clone());
        data.merge(beside)
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(middleware::from_fn_with_state(self.clone(), header_limits))
    }

    /// `routes` (the control plane's routes of a listener without the data
    /// plane), with unknown paths and methods answered in dialect and the
    /// header limits applied.
    pub fn side_router(&self, routes: Router) -> Router {
        routes
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(middleware::from_fn_with_state(self.clone(), header_limits))
    }

    /// Serves every listener, each with its own accept loop and `caps`,
    /// until `shutdown` resolves; then stops accepting, waits up to the
    /// configured grace period for open requests and records the last
    /// credential uses.
    pub async fn serve(
        self,
        listeners: Vec<Listener>,
        caps: ConnectionCaps,
        shutdown: impl Future<Output = ()>,
    ) {
        let graceful = Arc::new(GracefulShutdown::new());
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.inner.header_read_timeout)
            .max_buf_size(HARD_MAX_HEADER_BYTES)
            .max_headers(HARD_MAX_HEADERS)
            .keep_alive(true);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut loops = JoinSet::new();
        for listener in listeners {
            let router = if listener.data_plane {
                self.router(listener.routes)
            } else {
                self.side_router(listener.routes)
            };
            let serving = Serving {
                router,
                http: http.clone(),
                limits: ConnectionLimits::new(listener.name, caps, &self.core.metrics),
                graceful: graceful.clone(),
                tls: listener.tls,
                handshake_timeout: self.inner.header_read_timeout,
            };
            loops.spawn(accept_loop(
                listener.name,
                listener.socket,
                serving,
                stopped.clone(),
            ));
        }
        shutdown.await;
        let _ = stop.send(true);
        while loops.join_next().await.is_some() {}
        match Arc::try_unwrap(graceful) {
            Ok(graceful) => tokio::select! {
                () = graceful.shutdown() => tracing::info!("all connections closed"),
                () = tokio::time::sleep(self.inner.shutdown_grace) => {
                    tracing::warn!("shutdown grace period over; closing open connections");
                }
            },
            Err(_) => tokio::time::sleep(self.inner.shutdown_grace).await,
        }
        if let Err(e) = self.core.identity.flush_usage().await {
            tracing::warn!(error = %e, "could not record last key use at shutdown");
        }
    }
}
