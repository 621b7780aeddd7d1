//! The listener and connections: binding, the accept loop, per-connection
//! hyper serving, and stopping/resuming/shutting down.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Mutex, Notify, oneshot, watch};
use tokio::task::JoinHandle;

use crate::router;
use crate::state::Shared;

/// How long `shutdown` lets in-flight responses finish before dropping them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Signals shared by all connections of a server.
#[derive(Debug)]
struct ConnCtl {
    active: AtomicUsize,
    idle: Notify,
    /// Bumped to ask every existing connection to close gracefully.
    close: watch::Sender<u64>,
    /// Set to drop every connection immediately.
    kill: watch::Sender<bool>,
}

/// Decrements the live-connection count on drop.
struct ConnGuard(Arc<ConnCtl>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        if self.0.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl ConnCtl {
    async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.active.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// A running accept loop.
#[derive(Debug)]
struct AcceptLoop {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// One mock server: its state, address and listener.
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
    addr: SocketAddr,
    conns: Arc<ConnCtl>,
    accept: Mutex<Option<AcceptLoop>>,
}

/// Bind a listening socket with `SO_REUSEADDR` (so the port can be re-bound
/// after [`Server::stop_listening`]).
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

impl Server {
    /// Bind `addr` and start accepting connections.
    pub async fn start(addr: SocketAddr, shared: Arc<Shared>) -> io::Result<Self> {
        let listener = bind(addr)?;
        let addr = listener.local_addr()?;
        let conns = Arc::new(ConnCtl {
            active: AtomicUsize::new(0),
            idle: Notify::new(),
            close: watch::Sender::new(0),
            kill: watch::Sender::new(false),
        });
        let accept = spawn_accept(listener, shared.clone(), conns.clone());
        Ok(Self {
            shared,
            addr,
            conns,
            accept: Mutex::new(Some(accept)),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Close the listening socket (new connections are refused) and ask
    /// existing connections to close once their in-flight response is done.
    pub async fn stop_listening(&self) {
        let accept = self.accept.lock().await.take();
        if let Some(accept) = accept {
            let _ = accept.stop.send(());
            // The task drops the listener before finishing.
            let _ = accept.task.await;
            self.conns.close.send_modify(|g| *g += 1);
        }
    }

    /// Re-bind the same address and accept again (no-op when listening).
    pub async fn resume_listening(&self) -> io::Result<()> {
        let mut accept = self.accept.lock().await;
        if accept.is_none() {
            let listener = bind(self.addr)?;
            self.conns.kill.send_replace(false);
            *accept = Some(spawn_accept(
                listener,
                self.shared.clone(),
                self.conns.clone(),
            ));
        }
        Ok(())
    }

    /// Stop listening, let in-flight responses finish for up to
    /// [`SHUTDOWN_GRACE`], then drop every remaining connection.
    pub async fn shutdown(&self) {
        self.stop_listening().await;
        if tokio::time::timeout(SHUTDOWN_GRACE, self.conns.wait_idle())
            .await
            .is_err()
        {
            self.conns.kill.send_replace(true);
            self.conns.wait_idle().await;
        }
    }
}

fn spawn_accept(listener: TcpListener, shared: Arc<Shared>, conns: Arc<ConnCtl>) -> AcceptLoop {
    let (stop, mut stop_rx) = oneshot::channel();
    // No timer: idle keep-alive connections are never timed out by the mock
    // (hyper's header-read timeout only applies when a timer is set).
    let builder = http1::Builder::new();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                _ = &mut stop_rx => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        conns.active.fetch_add(1, Ordering::AcqRel);
                        let guard = ConnGuard(conns.clone());
                        // Subscribe now so a later stop/kill is always seen.
                        let close = conns.close.subscribe();
                        let kill = conns.kill.subscribe();
                        let conn = serve_conn(stream, builder.clone(), shared.clone(), close, kill);
                        tokio::spawn(async move {
                            conn.await;
                            drop(guard);
                        });
                    }
                    // Transient (e.g. EMFILE, ECONNABORTED): back off briefly.
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                },
            }
        }
        drop(listener);
    });
    AcceptLoop { stop, task }
}

async fn serve_conn(
    stream: TcpStream,
    builder: http1::Builder,
    shared: Arc<Shared>,
    mut close: watch::Receiver<u64>,
    mut kill: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let svc = service_fn(move |req| router::handle(shared.clone(), req));
    let conn = builder.serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = kill.wait_for(|k| *k) => return,
        _ = close.changed() => {}
    }
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = kill.wait_for(|k| *k) => {}
    }
}
