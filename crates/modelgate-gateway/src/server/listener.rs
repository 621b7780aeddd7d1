//! One listener: what it serves, its accept loop, and how one accepted
//! stream is served. Each listener runs its own loop over its own router
//! and connection caps; [`serve_connection`] takes any byte stream, so a
//! TLS listener can wrap the accepted TCP stream before handing it on.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_service::Service;

use modelgate_core::peer_cert::PeerCertificate;

use super::connections::{ConnectionLimits, ConnectionPermit};
use super::tls::{ListenerTlsConfig, peer_certificate};
use crate::stages::accept::ClientAddr;

/// A bound socket and what it serves.
#[derive(Debug)]
pub struct Listener {
    /// `main`, `admin` or `metrics`: the name in logs and metric labels.
    pub name: &'static str,
    /// The bound socket.
    pub socket: TcpListener,
    /// Whether the data plane's model routes are served here (on the main
    /// listener only).
    pub data_plane: bool,
    /// The control plane's routes served here.
    pub routes: Router,
    /// TLS on this listener (`[server.tls]`), or plain HTTP.
    pub tls: Option<ListenerTlsConfig>,
}

/// What every connection of one listener is served with.
#[derive(Clone)]
pub(super) struct Serving {
    /// The listener's full router (its routes, the unknown-path answer in
    /// dialect and the header limits).
    pub router: Router,
    /// The HTTP/1 connection settings.
    pub http: http1::Builder,
    /// The listener's connection caps.
    pub limits: Arc<ConnectionLimits>,
    /// Lets shutdown wait for open connections.
    pub graceful: Arc<GracefulShutdown>,
    /// TLS on this listener, if any.
    pub tls: Option<ListenerTlsConfig>,
    /// Longest a TLS handshake may take (the header read timeout).
    pub handshake_timeout: Duration,
}

/// Accepts connections on `socket` until `stop` changes, admitting each
/// through the listener's connection caps (a refused one is closed at
/// once) and serving the rest.
pub(super) async fn accept_loop(
    name: &'static str,
    socket: TcpListener,
    serving: Serving,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = socket.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and similar: back off briefly.
                    tracing::warn!(listener = name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let Ok(permit) = serving.limits.admit(peer.ip()) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        match &serving.tls {
            None => serve_connection(stream, peer, None, &serving, permit),
            Some(tls) => {
                let handshake = tls.acceptor().accept(stream);
                let timeout = serving.handshake_timeout;
                let serving = serving.clone();
                tokio::spawn(async move {
                    let stream = match tokio::time::timeout(timeout, handshake).await {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => {
                            tracing::debug!(listener = name, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(listener = name, "TLS handshake timed out");
                            return;
                        }
                    };
                    let peer_cert = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(peer_certificate);
                    serve_connection(stream, peer, peer_cert, &serving, permit);
                });
            }
        }
    }
}

/// Serves HTTP/1 on one accepted stream from `peer` (with its verified
/// client certificate, on a TLS listener that asked for one) in a task of
/// its own; `permit` holds the connection's place under the caps until it
/// ends.
pub(super) fn serve_connection<I>(
    io: I,
    peer: SocketAddr,
    peer_cert: Option<PeerCertificate>,
    serving: &Serving,
    permit: ConnectionPermit,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let router = serving.router.clone();
    let service = hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ClientAddr(peer));
        if let Some(cert) = &peer_cert {
            request.extensions_mut().insert(cert.clone());
        }
        let mut router = router.clone();
        async move {
            let response: Result<Response, Infallible> = router.call(request.map(Body::new)).await;
            response
        }
    });
    let connection = serving.http.serve_connection(TokioIo::new(io), service);
    let connection = serving.graceful.watch(connection);
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
        drop(permit);
    });
}
