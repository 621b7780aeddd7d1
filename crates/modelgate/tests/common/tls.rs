//! TLS toward upstreams, for tests: a TLS front on loopback that terminates
//! TLS with a server certificate from a test CA ([`super::pki::Ca`]) and
//! relays the bytes to a plain backend (the mock upstream), optionally
//! requiring a client certificate from a given CA.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::pki::{Ca, Leaf};

/// Writes `text` to `dir/name`; returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A TLS front on 127.0.0.1 relaying each connection to a backend.
pub struct TlsFront {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Handshakes that failed (an untrusted gateway, a missing or refused
    /// client certificate).
    pub failed_handshakes: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl TlsFront {
    /// Terminates TLS with `server` and relays to `backend`. With
    /// `client_ca`, a client certificate from that CA is required.
    pub async fn start(server: &Leaf, client_ca: Option<&Ca>, backend: SocketAddr) -> TlsFront {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let chain = vec![CertificateDer::from_pem_slice(server.cert_pem.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(server.key_pem.as_bytes()).unwrap();
        let builder = rustls::ServerConfig::builder();
        let config = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots
                    .add(CertificateDer::from_pem_slice(ca.cert_pem.as_bytes()).unwrap())
                    .unwrap();
                let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
                    .build()
                    .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
        }
        .with_single_cert(chain, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let failed_handshakes = Arc::new(AtomicUsize::new(0));
        let failed = failed_handshakes.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let failed = failed.clone();
                tokio::spawn(async move {
                    let mut tls = match acceptor.accept(socket).into_fallible().await {
                        Ok(tls) => tls,
                        Err((_, socket)) => {
                            failed.fetch_add(1, Ordering::SeqCst);
                            linger(socket).await;
                            return;
                        }
                    };
                    let Ok(mut plain) = TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsFront {
            addr,
            failed_handshakes,
            task,
        }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// How many handshakes have failed so far.
    pub fn failed(&self) -> usize {
        self.failed_handshakes.load(Ordering::SeqCst)
    }
}

/// Closes a connection whose handshake failed as nginx's lingering close
/// does: the alert is already sent; stop writing, then read (and drop)
/// what the client still sends until it closes, for at most 2 s. Closing
/// at once with the client's request unread would reset the connection,
/// and the client might see the reset before the alert.
async fn linger(mut socket: TcpStream) {
    let _ = socket.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}
