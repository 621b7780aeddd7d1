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
use crate::kek::KekError;
use crate::signing::KeyringError;
use modelgate_types::IdentityStatus;

/// Why an administrative operation (create, issue, list, revoke) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The new identity's input is invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// An admin exists already; bootstrap happens once.
    #[error("an admin already exists; bootstrap can only be done once")]
    AlreadyBootstrapped,
    /// Another identity already has this name.
    #[error("an identity named {0:?} already exists")]
    NameTaken(String),
    /// The name belonged to an identity that was offboarded. Names are
    /// unique and never reused, so audit records keep meaning one identity.
    #[error(
        "the name {0:?} belonged to an identity that was offboarded; names are unique \
         and never reused, so choose another name"
    )]
    NameRetired(String),
    /// The identity was offboarded: that cannot be undone, and it gets no
    /// credentials any more.
    #[error("identity {name:?} was offboarded; offboarding cannot be undone")]
    IdentityOffboarded {
        /// The identity's name.
        name: String,
    },
    /// The identity value given to the token minter is stale: the
    /// revocation state says the identity is no longer active.
    #[error("identity {name:?} is no longer active; it cannot be issued credentials")]
    StaleIdentity {
        /// The identity's name.
        name: String,
    },
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
    /// The key cannot be rotated (revoked, expired or already rotated).
    #[error("API key {id:?} cannot be rotated: {reason}")]
    KeyNotRotatable {
        /// The key's id.
        id: String,
        /// Why not (`it is revoked`, `it has expired`, ...).
        reason: &'static str,
    },
    /// A requested token scope is not a space-separated list of RFC 6749
    /// scope tokens (printable ASCII without quote or backslash), or is too
    /// long.
    #[error(
        "invalid scope: use scope tokens of printable ASCII (no quote or backslash) separated by \
         single spaces, at most {} characters in all",
        crate::tokens::MAX_SCOPE_CHARS
    )]
    InvalidScope,
    /// An actor's subject is empty, too long or has control characters.
    #[error(
        "invalid actor: a subject must be 1 to {} characters without control characters",
        crate::tokens::MAX_ACTOR_CHARS
    )]
    InvalidActor,
    /// The delegation chain is longer than allowed.
    #[error("delegation chain too long: at most {max} actors")]
    DelegationTooDeep {
        /// The longest chain allowed.
        max: usize,
    },
    /// The access token settings are inconsistent.
    #[error("invalid access token settings: {0}")]
    InvalidTokenSettings(&'static str),
    /// An operation needs access tokens, but none are attached to the
    /// service (see `IdentityService::with_tokens`).
    #[error("access tokens are not configured on this identity service")]
    TokensNotConfigured,
    /// The minted token would exceed the size verifiers accept.
    #[error(
        "the access token would exceed {} bytes",
        crate::tokens::MAX_TOKEN_BYTES
    )]
    TokenTooLarge,
    /// The signing keyring failed (no active key, wrong KEK, store).
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// Sealing or opening with the key-encryption key failed.
    #[error(transparent)]
    Kek(#[from] KekError),
    /// A value could not be encoded (should not happen).
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// Randomness for an id or key could not be drawn.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
    /// A stored row does not fit the typed view.
    #[error(transparent)]
    Corrupt(#[from] CorruptRecord),
    /// The store failed.
    #[error("store: {0}")]
    Store(StoreError),
}

/// Why a presented API key was refused.
///
/// `Malformed`, `Unknown`, `Revoked`, `Expired` and `IdentityDisabled` are
/// the caller's problem (401); `Store`, `Corrupt` and `StateStale` are the
/// gateway's (503).
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
    /// The key's (or token's) identity is disabled or offboarded.
    #[error("credential rejected: identity is not active")]
    IdentityDisabled,
    /// Not an acceptable access token (format, header, signature, issuer,
    /// audience or claims). Says why, never what the token held.
    #[error("credential rejected: invalid access token ({0})")]
    InvalidToken(TokenRejection),
    /// The access token is past its `exp`.
    #[error("credential rejected: access token expired")]
    TokenExpired,
    /// The access token's `jti` was revoked.
    #[error("credential rejected: access token revoked")]
    TokenRevoked,
    /// A stored row does not fit the typed view.
    #[error(transparent)]
    Corrupt(#[from] CorruptRecord),
    /// The store failed; the caller is not at fault.
    #[error("authentication unavailable: {0}")]
    Store(StoreError),
    /// This replica has not synced with the store for longer than its
    /// bound (`tokens.max_staleness`): revocations may not have reached it,
    /// so it authenticates nobody until it syncs again. Not the caller's
    /// fault.
    #[error("authentication unavailable: the replica's state sync is stale")]
    StateStale,
}

/// Why an access token was refused as invalid. A fixed description: it
/// never contains any part of the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum TokenRejection {
    /// Longer than the accepted maximum.
    #[error("too large")]
    TooLarge,
    /// Not three base64url segments of JSON, or a bad signature length.
    #[error("malformed")]
    Malformed,
    /// The header's `typ` is not `at+jwt`.
    #[error("wrong token type")]
    WrongType,
    /// The header's `alg` is not `EdDSA`.
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// The header has a `crit` parameter, which this verifier does not
    /// understand.
    #[error("unsupported critical header")]
    UnsupportedHeader,
    /// No `kid`, or the kid names no active or previous signing key.
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A claim is missing, mistyped or out of shape.
    #[error("bad claims")]
    BadClaims,
    /// `iss` is not this gateway.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not name this gateway.
    #[error("wrong audience")]
    WrongAudience,
    /// `nbf` or `iat` is in the future.
    #[error("not yet valid")]
    NotYetValid,
    /// `exp - iat` is not positive or exceeds the configured maximum.
    #[error("bad lifetime")]
    BadLifetime,
    /// The `act` chain is deeper than allowed.
    #[error("delegation chain too long")]
    DelegationTooDeep,
}

impl TokenRejection {
    /// A fixed label for metrics (`malformed`, `bad_signature`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenRejection::TooLarge => "too_large",
            TokenRejection::Malformed => "malformed",
            TokenRejection::WrongType => "wrong_type",
            TokenRejection::UnsupportedAlgorithm => "unsupported_algorithm",
            TokenRejection::UnsupportedHeader => "unsupported_header",
            TokenRejection::UnknownKey => "unknown_key",
            TokenRejection::BadSignature => "bad_signature",
            TokenRejection::BadClaims => "bad_claims",
            TokenRejection::WrongIssuer => "wrong_issuer",
            TokenRejection::WrongAudience => "wrong_audience",
            TokenRejection::NotYetValid => "not_yet_valid",
            TokenRejection::BadLifetime => "bad_lifetime",
            TokenRejection::DelegationTooDeep => "delegation_too_deep",
        }
    }
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
        !matches!(
            self,
            AuthError::Store(_) | AuthError::Corrupt(_) | AuthError::StateStale
        )
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

/// The cause is in the message, so it is not also the `source()` (a chain
/// printed in full would say it twice).
impl From<StoreError> for IdentityError {
    fn from(e: StoreError) -> Self {
        IdentityError::Store(e)
    }
}

/// The cause is in the message, so it is not also the `source()` (a chain
/// printed in full would say it twice).
impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        AuthError::Store(e)
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
