//! Errors of the identity service and of authentication.
//!
//! No message contains a presented credential, its hash or any part of it:
//! inputs that could be a mistaken paste of a key are echoed only when they
//! have the shape of a name or an id.

use std::time::Duration;

use modelgate_store::StoreError;

use crate::apikey::{API_KEY_PREFIX, KeyFormatError};
use crate::base62::RandomnessError;
use crate::identity::{CorruptRecord, ValidationError, is_valid_name};
use crate::ids::is_key_id;
use crate::kind::IdentityStatus;

/// Why an administrative operation (create, issue, list, revoke) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The new identity's input is invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Another identity already has this name.
    #[error("an identity named {0:?} already exists")]
    NameTaken(String),
    /// No identity has this name. Holds the name as shown: quoted if it is a
    /// valid name, a placeholder otherwise (see
    /// [`IdentityError::identity_not_found`]).
    #[error("no identity named {0}")]
    IdentityNotFound(String),
    /// No API key has this id. Holds the id as shown: quoted if it has an
    /// id's shape, a placeholder otherwise (see
    /// [`IdentityError::key_not_found`]).
    #[error("no API key with id {0}")]
    KeyNotFound(String),
    /// The identity is not active, so it cannot receive credentials.
    #[error("identity {name:?} is {status}; it cannot be issued credentials")]
    IdentityNotActive {
        /// The identity's name.
        name: String,
        /// Its status.
        status: IdentityStatus,
    },
    /// The requested key lifetime is zero (or under a second).
    #[error("key lifetime must be at least one second")]
    LifetimeTooShort,
    /// The requested key lifetime is over the policy's maximum.
    #[error("key lifetime exceeds the maximum of {}", human(*.max))]
    LifetimeTooLong {
        /// The policy's maximum lifetime.
        max: Duration,
    },
    /// Creation time plus lifetime does not fit a timestamp.
    #[error("key expiry is out of range")]
    ExpiryOutOfRange,
    /// Randomness for an id or key could not be drawn.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
    /// A stored row does not fit the typed view.
    #[error(transparent)]
    Corrupt(#[from] CorruptRecord),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Why a presented API key was refused.
///
/// `Malformed`, `Unknown`, `Revoked`, `Expired` and `IdentityDisabled` are
/// the caller's problem (401); `Store` and `Corrupt` are the gateway's (503).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Not a well-formed key (prefix, length, charset or checksum); the store
    /// was not consulted.
    #[error("credential rejected: {0}")]
    Malformed(KeyFormatError),
    /// Well-formed, but no such key.
    #[error("credential rejected: unknown API key")]
    Unknown,
    /// The key was revoked.
    #[error("credential rejected: API key revoked")]
    Revoked,
    /// The key is past its expiry.
    #[error("credential rejected: API key expired")]
    Expired,
    /// The key's identity is disabled or offboarded.
    #[error("credential rejected: identity is not active")]
    IdentityDisabled,
    /// A stored row does not fit the typed view.
    #[error(transparent)]
    Corrupt(#[from] CorruptRecord),
    /// The store failed; the caller is not at fault.
    #[error("authentication unavailable: {0}")]
    Store(#[from] StoreError),
}

impl IdentityError {
    /// `IdentityNotFound` for an input that may be anything, even a pasted
    /// key: the input is kept only if it is a valid identity name.
    pub fn identity_not_found(input: &str) -> IdentityError {
        IdentityError::IdentityNotFound(shown(input))
    }

    /// `KeyNotFound` for an input that may be anything: kept only if it has
    /// the shape of a key id.
    pub fn key_not_found(input: &str) -> IdentityError {
        IdentityError::KeyNotFound(shown(input))
    }
}

impl AuthError {
    /// Whether the caller is at fault (answer 401) rather than the gateway
    /// (answer 503).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, AuthError::Store(_) | AuthError::Corrupt(_))
    }
}

/// An input echoed in an error: only if it is a valid name or key id, and
/// never if it starts like a key.
fn shown(input: &str) -> String {
    if !input.starts_with(API_KEY_PREFIX) && (is_valid_name(input) || is_key_id(input)) {
        format!("{input:?}")
    } else {
        "(input not shown: not a valid name or id)".to_owned()
    }
}

/// `90 days`, `36 hours`, `3600 seconds`.
fn human(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s >= 3_600 && s % 3_600 == 0 => format!("{} hours", s / 3_600),
        s => format!("{s} seconds"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime_message_names_the_maximum() {
        let err = IdentityError::LifetimeTooLong {
            max: Duration::from_secs(90 * 86_400),
        };
        assert_eq!(
            err.to_string(),
            "key lifetime exceeds the maximum of 90 days"
        );
        assert_eq!(human(Duration::from_secs(7_200)), "2 hours");
        assert_eq!(human(Duration::from_secs(61)), "61 seconds");
    }

    #[test]
    fn only_name_shaped_input_is_echoed() {
        let found = IdentityError::identity_not_found("billing");
        assert_eq!(found.to_string(), "no identity named \"billing\"");
        for input in ["Some Thing", "mgk_lowercase"] {
            let err = IdentityError::identity_not_found(input);
            for text in [err.to_string(), format!("{err:?}")] {
                assert!(!text.contains(input), "{text}");
            }
        }
        let key = IdentityError::key_not_found("key_0123456789abcdefghij");
        assert!(key.to_string().contains("key_0123456789abcdefghij"));
    }
}
