//! Why the signing keyring could not load, create or rotate keys.

use modelgate_store::StoreError;

use crate::base62::RandomnessError;
use crate::kek::KekError;

/// Why the keyring could not load, create or rotate keys. Names a kid at
/// most, never key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// No configured KEK opens a stored private key: the gateway was
    /// started with a different KEK from the one that sealed it (or only
    /// with the old one after `modelgate kek rotate`).
    #[error("signing key {kid} cannot be opened: {reason}")]
    WrongKek {
        /// The key's id.
        kid: String,
        /// Why (names a KEK id at most).
        reason: KekError,
    },
    /// A stored key is unusable.
    #[error("signing key {kid} is unusable: {what}")]
    Corrupt {
        /// The key's id.
        kid: String,
        /// What is wrong with it.
        what: &'static str,
    },
    /// There is no active key to sign with (call `ensure_active`).
    #[error("no active signing key")]
    NoActiveKey,
    /// A key pair could not be generated.
    #[error("could not generate a signing key")]
    Generate,
    /// Sealing a new private key failed.
    #[error(transparent)]
    Kek(#[from] KekError),
    /// Randomness for a kid could not be drawn.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
    /// The store failed.
    #[error("store: {0}")]
    Store(StoreError),
}

/// The cause is in the message, so it is not also the `source()` (a chain
/// printed in full would say it twice).
impl From<StoreError> for KeyringError {
    fn from(e: StoreError) -> Self {
        KeyringError::Store(e)
    }
}
