//! The listener: the data plane's routes beside whatever the binary mounts
//! next to them (the control plane), the accept stage's header limits over
//! all of them, connection settings, and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use modelgate_config::{HARD_MAX_HEADER_BYTES, HARD_MAX_HEADERS};
use modelgate_types::Operation;
use tokio::net::TcpListener;
use tower_service::Service;

use crate::Gateway;
use crate::api_error::{ApiError, ErrorKind};
use crate::stages::accept::{ClientAddr, dialect_of, header_limits};

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
    crate::models::list_models(&g, r, None).await
}
async fn model(State(g): State<Gateway>, Path(id): Path<String>, r: Request) -> Response {
    crate::models::list_models(&g, r, Some(id)).await
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

    /// Serves connections from `listener` with [`Gateway::router`] until
    /// `shutdown` resolves, then waits up to the configured grace period
    /// for open requests and records the last credential uses.
    pub async fn serve(
        self,
        listener: TcpListener,
        beside: Router,
        shutdown: impl Future<Output = ()>,
    ) {
        let router = self.router(beside);
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
        if let Err(e) = self.core.identity.flush_usage().await {
            tracing::warn!(error = %e, "could not record last key use at shutdown");
        }
    }
}
