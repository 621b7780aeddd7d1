//! TLS on a listener (`[server.tls]`, `[server.admin_tls]`, `[server.metrics_tls]`): the certificate and key, re-read
//! when their files change; TLS 1.2 and 1.3 only (rustls supports nothing
//! older); and client certificates verified against `client_ca` (mTLS),
//! each connection's leaf read once into a [`PeerCertificate`].
//!
//! A reload that fails (a missing file, a key that does not fit the
//! certificate) keeps the certificate in use and logs a warning naming the
//! file, never its contents.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, SystemTime};

use modelgate_config::{ClientAuth, ListenerTls};
use modelgate_core::peer_cert::PeerCertificate;
use modelgate_identity::federation::SpiffeId;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// Why the listener's TLS settings cannot be used. Names the setting and
/// the file (the caller puts the table, such as `server.tls`, in front);
/// never holds key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A file could not be read or holds nothing usable.
    #[error("{field}: {path}: {reason}")]
    File {
        /// `cert`, `key` or `client_ca`.
        field: &'static str,
        /// The configured path.
        path: String,
        /// What is wrong, in fixed words.
        reason: String,
    },
    /// rustls refused the settings.
    #[error("{0}")]
    Rustls(String),
}

fn file_error(field: &'static str, path: &Path, reason: impl Into<String>) -> TlsSetupError {
    TlsSetupError::File {
        field,
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// The listener's certificate, swapped in place when its files change.
#[derive(Debug)]
struct ReloadingCert {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        match self.current.read() {
            Ok(current) => Some(current.clone()),
            Err(poisoned) => Some(poisoned.into_inner().clone()),
        }
    }
}

/// A listener's TLS: the acceptor, and the certificate it serves.
#[derive(Clone)]
pub struct ListenerTlsConfig {
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for ListenerTlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerTlsConfig").finish_non_exhaustive()
    }
}

impl ListenerTlsConfig {
    /// Reads the certificate, key and client CA bundle of `settings` and
    /// starts watching the certificate and key files (every
    /// `reload_interval`, for as long as the listener lives). Must be
    /// called inside a Tokio runtime.
    pub fn load(settings: &ListenerTls) -> Result<ListenerTlsConfig, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certified = load_certified_key(&settings.cert, &settings.key, &provider)?;
        let resolver = Arc::new(ReloadingCert {
            current: RwLock::new(Arc::new(certified)),
        });
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
        let builder = match (&settings.client_ca, settings.client_auth) {
            (Some(ca), ClientAuth::Optional | ClientAuth::Required) => {
                let roots = Arc::new(load_roots(ca)?);
                let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
                let verifier = if settings.client_auth == ClientAuth::Optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                let verifier = verifier
                    .build()
                    .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
            _ => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(resolver.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        tokio::spawn(watch_files(
            Arc::downgrade(&resolver),
            settings.cert.clone(),
            settings.key.clone(),
            settings.reload_interval,
            provider,
        ));
        Ok(ListenerTlsConfig {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The acceptor that runs each connection's handshake.
    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

/// Reads a PEM chain and its key, and checks that they belong together.
fn load_certified_key(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsSetupError> {
    let chain = read_certificates("cert", cert)?;
    let key_bytes = std::fs::read(key).map_err(|e| file_error("key", key, e.to_string()))?;
    let private = PrivateKeyDer::from_pem_slice(&key_bytes)
        .map_err(|_| file_error("key", key, "holds no PEM private key rustls can read"))?;
    let signing = provider
        .key_provider
        .load_private_key(private)
        .map_err(|_| file_error("key", key, "the private key's type is not supported"))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|_| {
        file_error(
            "key",
            key,
            "the private key does not match the certificate (cert)",
        )
    })?;
    Ok(certified)
}

/// Every certificate of a PEM file (at least one).
fn read_certificates(
    field: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let bytes = std::fs::read(path).map_err(|e| file_error(field, path, e.to_string()))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|_| file_error(field, path, "is not a readable PEM certificate file"))?;
    if certs.is_empty() {
        return Err(file_error(field, path, "holds no PEM certificate"));
    }
    Ok(certs)
}

/// The client CA bundle.
fn load_roots(path: &Path) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certificates("client_ca", path)? {
        roots
            .add(cert)
            .map_err(|_| file_error("client_ca", path, "holds a certificate that is not a CA"))?;
    }
    Ok(roots)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Polls the files' modification times and reloads on a change, until the
/// listener's configuration is dropped.
async fn watch_files(
    resolver: Weak<ReloadingCert>,
    cert: PathBuf,
    key: PathBuf,
    every: Duration,
    provider: Arc<CryptoProvider>,
) {
    let mut seen = (modified(&cert), modified(&key));
    loop {
        tokio::time::sleep(every).await;
        let Some(resolver) = resolver.upgrade() else {
            return;
        };
        let now = (modified(&cert), modified(&key));
        if now == seen {
            continue;
        }
        seen = now;
        match load_certified_key(&cert, &key, &provider) {
            Ok(certified) => {
                match resolver.current.write() {
                    Ok(mut current) => *current = Arc::new(certified),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(certified),
                }
                tracing::info!(cert = %cert.display(), "listener certificate reloaded");
            }
            Err(e) => tracing::warn!(
                error = %e,
                "listener certificate not reloaded; the previous one stays in use"
            ),
        }
    }
}

/// Reads a verified client certificate's leaf: its fingerprint and its
/// SPIFFE ID (exactly one `spiffe://` URI SAN that is a valid SPIFFE ID).
pub fn peer_certificate(leaf: &CertificateDer<'_>) -> PeerCertificate {
    let digest = ring::digest::digest(&ring::digest::SHA256, leaf.as_ref());
    let fingerprint = digest.as_ref().iter().fold(String::new(), |mut s, b| {
        s.push_str(&format!("{b:02x}"));
        s
    });
    PeerCertificate {
        fingerprint,
        spiffe_id: spiffe_id(leaf.as_ref()),
    }
}

fn spiffe_id(der: &[u8]) -> Option<SpiffeId> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let san = cert.subject_alternative_name().ok()??;
    let mut uris = san
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            x509_parser::extensions::GeneralName::URI(uri) if uri.starts_with("spiffe://") => {
                Some(*uri)
            }
            _ => None,
        });
    match (uris.next(), uris.next()) {
        (Some(uri), None) => SpiffeId::parse(uri),
        _ => None,
    }
}
