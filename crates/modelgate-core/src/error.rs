//! Why the shared services could not be built.

use modelgate_config::ConfigError;
use modelgate_identity::federation::FederationConfigError;
use modelgate_identity::{IdentityError, KeyringError};

use crate::audit::AuditStartError;

/// Why the shared services could not be built.
///
/// A variant whose message already says its cause does not also return
/// it as its `source()`: an error chain printed in full (`{:#}`) would
/// say it twice.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The trusted issuers are misconfigured.
    #[error("issuers: {0}")]
    Issuers(FederationConfigError),
    /// Signing keys or token settings could not be loaded.
    #[error("access tokens: {0}")]
    Tokens(IdentityError),
    /// The signing keyring could not be loaded (wrong key-encryption key?).
    #[error("signing keys: {0}")]
    Keyring(KeyringError),
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
    /// The replica id is held by another process, or cannot be claimed.
    #[error(transparent)]
    Lease(#[from] crate::replica_lease::LeaseError),
    /// The roles or grant rules are invalid.
    #[error(transparent)]
    Roles(#[from] ConfigError),
}

impl From<FederationConfigError> for CoreError {
    fn from(e: FederationConfigError) -> Self {
        CoreError::Issuers(e)
    }
}

impl From<IdentityError> for CoreError {
    fn from(e: IdentityError) -> Self {
        CoreError::Tokens(e)
    }
}

impl From<KeyringError> for CoreError {
    fn from(e: KeyringError) -> Self {
        CoreError::Keyring(e)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_cause_in_the_message_is_not_also_the_source() {
        let err = CoreError::from(FederationConfigError::Invalid {
            issuer: "k".to_owned(),
            field: "jwks_url".to_owned(),
            reason: "jwks_url and jwks_file are mutually exclusive; set one".to_owned(),
        });
        assert!(err.source().is_none());
        let text = err.to_string();
        assert_eq!(text.matches("mutually exclusive").count(), 1, "{text}");
    }
}
