//! TLS toward one upstream, set up once when the upstream is built: the
//! roots its server certificate must chain to (the public web roots, or
//! only the CAs of its `ca_bundle`) and the client certificate the gateway
//! shows it (`client_cert` with the `client_key` secret) for mutual TLS.
//!
//! An upstream without these fields gets the public web roots and no
//! client certificate, as before. Nothing here runs per request.

use std::path::Path;
use std::sync::Arc;

use hyper_rustls::ConfigBuilderExt;
use modelgate_config::UpstreamConfig;
use modelgate_config::secret::{SecretError, SecretRef};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

/// Why an upstream's TLS settings could not be loaded. Names the field;
/// never holds the client key or any part of it.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A certificate file could not be read.
    #[error("{field}: cannot read {path}: {reason}")]
    Read {
        /// `ca_bundle` or `client_cert`.
        field: &'static str,
        /// The file.
        path: String,
        /// The I/O error kind.
        reason: String,
    },
    /// A file or the key holds nothing usable.
    #[error("{field}: {reason}")]
    Invalid {
        /// `ca_bundle`, `client_cert` or `client_key`.
        field: &'static str,
        /// What is wrong (never the key's content).
        reason: String,
    },
    /// The client key reference could not be resolved.
    #[error("client_key: {0}")]
    Key(SecretError),
    /// rustls refused the protocol settings.
    #[error("TLS setup failed: {0}")]
    Rustls(String),
}

/// The rustls client configuration for `config`: TLS 1.2 or later over
/// ring; the `ca_bundle` CAs as the only roots when it is set, else the
/// public web roots; the client certificate when one is set.
pub fn client_config(config: &UpstreamConfig) -> Result<ClientConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
    let builder = match &config.ca_bundle {
        None => builder.with_webpki_roots(),
        Some(path) => builder.with_root_certificates(bundle_roots(path)?),
    };
    match (&config.client_cert, &config.client_key) {
        (Some(cert), Some(key)) => {
            let chain = certificates("client_cert", cert)?;
            let key = client_key(key)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TlsSetupError::Invalid {
                    field: "client_key",
                    reason: format!("not usable with client_cert: {e}"),
                })
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        (Some(_), None) => Err(TlsSetupError::Invalid {
            field: "client_key",
            reason: "required with client_cert".to_owned(),
        }),
        (None, Some(_)) => Err(TlsSetupError::Invalid {
            field: "client_cert",
            reason: "required with client_key".to_owned(),
        }),
    }
}

/// The CAs of a bundle file, as the only trust roots.
fn bundle_roots(path: &Path) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates("ca_bundle", path)? {
        roots.add(cert).map_err(|e| TlsSetupError::Invalid {
            field: "ca_bundle",
            reason: format!(
                "a certificate in {} is not a usable CA: {e}",
                path.display()
            ),
        })?;
    }
    Ok(roots)
}

/// Every PEM certificate in `path`, at least one.
fn certificates(
    field: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let bytes = std::fs::read(path).map_err(|e| TlsSetupError::Read {
        field,
        path: path.display().to_string(),
        reason: e.kind().to_string(),
    })?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsSetupError::Invalid {
            field,
            reason: format!("{} is not valid PEM: {e}", path.display()),
        })?;
    if certs.is_empty() {
        return Err(TlsSetupError::Invalid {
            field,
            reason: format!("{} holds no PEM certificate", path.display()),
        });
    }
    Ok(certs)
}

/// The client key named by `reference` (`env:NAME` or `file:PATH`). An
/// error names the reference, never the content: a PEM parse error could
/// quote part of the key, so it is not passed on.
fn client_key(reference: &str) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    let reference = SecretRef::parse(reference).map_err(|reason| TlsSetupError::Invalid {
        field: "client_key",
        reason,
    })?;
    let bytes = match &reference {
        SecretRef::Env(name) => std::env::var(name)
            .map(String::into_bytes)
            .map_err(|_| TlsSetupError::Key(SecretError::MissingEnv(name.clone())))?,
        SecretRef::File(path) => std::fs::read(path).map_err(|e| {
            TlsSetupError::Key(SecretError::File {
                path: path.display().to_string(),
                reason: e.kind().to_string(),
            })
        })?,
    };
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| TlsSetupError::Invalid {
        field: "client_key",
        reason: format!(
            "{reference:?} holds no PEM private key (PKCS#8, PKCS#1 or SEC1 \"-----BEGIN ... \
             PRIVATE KEY-----\")"
        ),
    })
}
