//! Why a key-encryption key could not be read, or a value not sealed or
//! opened.

use super::id::KekId;
use crate::base62::RandomnessError;

/// Why a KEK could not be read, or a value not sealed or opened. Never
/// contains the KEK, the input text or the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KekError {
    /// The text is neither 64 hex characters nor base64 of 32 bytes.
    #[error(
        "invalid key-encryption key: expected 64 hexadecimal characters or the base64 \
         of 32 bytes (for example from `openssl rand -base64 32`)"
    )]
    Malformed,
    /// Randomness for a key or a nonce could not be drawn.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
    /// Encryption failed.
    #[error("could not seal a value with the key-encryption key")]
    Seal,
    /// Decryption failed: no configured KEK is the one that sealed the
    /// value, the associated data differs, or the sealed value was altered.
    #[error(
        "could not open a sealed value: wrong key-encryption key, or the stored value was altered"
    )]
    Open,
    /// The value names the KEK that sealed it, and that KEK is neither the
    /// current one nor a previous one.
    #[error(
        "sealed with an unknown key-encryption key (KEK id {0}): it is neither tokens.kek nor \
         one of tokens.previous_keks (after `modelgate kek rotate`, only the new KEK opens \
         the store)"
    )]
    UnknownKek(KekId),
}
