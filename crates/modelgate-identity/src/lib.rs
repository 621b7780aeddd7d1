//! Identities, API keys and principals for modelgate.
//!
//! This crate owns who may call a model: non-human identities (each with an
//! owner, a kind, an environment and a purpose), the API keys they hold (the
//! `mgk_` format, generation, hashing, issue, revocation, expiry) and the
//! [`Principal`] that authentication produces for the rest of the request
//! path. It also owns the gateway's own access tokens ([`AccessTokens`]:
//! Ed25519 JWTs with RFC 9068 claims, verified from memory against a
//! [`RevocationCache`]), their signing keys ([`SigningKeyring`], private
//! halves sealed in the store with a [`KeyEncryptionKey`]) and the
//! credential lifecycle (key rotation with grace, disabling, offboarding).
//! Roles, standing role assignments and just-in-time grants live in
//! [`access`]; [`IdentityService::entitlements`] answers which roles an
//! identity holds at a given second, from memory.
//!
//! What this crate must not depend on: HTTP. No server, client, header or
//! status code types appear here; the gateway turns [`AuthError`] into a
//! response in the caller's dialect. Persistence goes through
//! [`modelgate_store::Store`] only, never a database driver directly.
//!
//! No secret leaves this crate by accident: an [`ApiKey`] prints only its
//! hint, and no error message contains a presented key, its hash or any part
//! of it.

pub mod access;
pub mod apikey;
mod base62;
mod error;
pub mod exchange;
mod exchange_error;
pub mod federation;
mod identity;
pub mod ids;
pub mod kek;

mod principal;
mod revocation;
mod service;
pub mod signing;
mod signing_error;
pub mod tokens;

pub use apikey::{ApiKey, GeneratedKey, KeyFormatError, looks_like_api_key, parse_api_key};
pub use base62::RandomnessError;
pub use error::{AuthError, IdentityError, TokenRejection};
pub use identity::{
    CorruptRecord, Identity, MAX_OWNER_CHARS, MAX_PURPOSE_CHARS, NewIdentity, ValidationError,
    is_valid_environment, is_valid_name,
};
pub use kek::{KekError, KekId, KeyEncryptionKey, SealedBy};
pub use modelgate_types::{IdentityKind, IdentityStatus, ParseEnumError};
pub use principal::{Actor, AuthMethod, Principal};
pub use revocation::RevocationCache;
/// Admin roles.
pub mod admin {
    pub use crate::service::{AdminEntry, AdminScope, BOOTSTRAP_ADMIN};
}
pub use service::{
    IdentityService, IssuedKey, KeyInfo, KeyPolicy, KeyStatus, LeakedKey, MAX_LABEL_CHARS,
    OffboardSummary,
};
pub use signing::{KeyState, KeyringError, SigningKeyInfo, SigningKeyring};
pub use tokens::{
    AccessTokenSecret, AccessTokenSettings, AccessTokens, MintedToken, looks_like_jwt,
};
