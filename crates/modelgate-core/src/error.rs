//! Why the shared services could not be built.

use modelgate_config::ConfigError;
use modelgate_identity::federation::FederationConfigError;
use modelgate_identity::{IdentityError, KeyringError};

use crate::audit::AuditStartError;

/// Why the shared services could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The trusted issuers are misconfigured.
    #[error("issuers: {0}")]
    Issuers(#[from] FederationConfigError),
    /// Signing keys or token settings could not be loaded.
    #[error("access tokens: {0}")]
    Tokens(#[from] IdentityError),
    /// The signing keyring could not be loaded (wrong key-encryption key?).
    #[error("signing keys: {0}")]
    Keyring(#[from] KeyringError),
    /// The HTTP client for issuer keys could not be built.
    #[error("issuer key fetcher: {0}")]
    Fetcher(String),
    /// The policies could not be loaded (each problem with file and line).
    #[error("{0}")]
    Policy(String),
    /// Screening is misconfigured.
    #[error("screening: {0}")]
    Screen(String),
    /// The audit log could not start.
    #[error(transparent)]
    Audit(#[from] AuditStartError),
    /// The roles or grant rules are invalid.
    #[error(transparent)]
    Roles(#[from] ConfigError),
}
