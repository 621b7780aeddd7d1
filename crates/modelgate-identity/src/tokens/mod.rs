//! Gateway access tokens: short-lived JWTs the gateway mints and verifies.
//!
//! Format: JWS compact serialisation, header
//! `{"alg":"EdDSA","typ":"at+jwt","kid":…}`, RFC 9068 claims (`iss`, `sub` =
//! identity id, `aud`, `exp`, `iat`, `nbf` = `iat`, `jti`, `client_id` =
//! identity name, optional `scope`), the private claims `mg_kind`, `mg_env`
//! and `mg_owner` (so the data plane builds the [`Principal`] without a
//! store round trip), and an RFC 8693 `act` claim for delegation, nested
//! with the current actor outermost, and the token family `fam` (the `jti`
//! of the first token of a chain of exchanges, see [`Lineage`]).
//!
//! Verification is synchronous and reads memory only: the signing keys
//! ([`SigningKeyring`]) and the [`RevocationCache`]. Call
//! [`AccessTokens::refresh`] periodically (the gateway does it every
//! second) to pick up changes other replicas made; changes made through
//! this instance apply at once.
//!
//! [`Principal`]: crate::Principal

mod claims;
mod freshness;
mod limits;
mod lineage;
mod mint;
mod sync_clock;
mod verified;
mod verify;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use modelgate_store::Store;

use crate::error::IdentityError;
use crate::revocation::RevocationCache;
use crate::signing::SigningKeyring;
use modelgate_types::IdentityKind;

pub use freshness::DEFAULT_MAX_STALENESS;
pub use limits::{MAX_ACTOR_CHARS, MAX_DELEGATION_DEPTH, MAX_SCOPE_CHARS, MAX_TOKEN_BYTES};
pub use lineage::{Lineage, is_token_id};

/// Length of a `jti`: random base62 characters (about 131 bits).
pub const JTI_LEN: usize = 22;
/// The header `typ` the gateway writes.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Settings of the tokens this gateway mints and accepts.
///
/// The default: issuer and audience `modelgate`, tokens for 15 minutes
/// unless a shorter or longer one is requested, never more than one hour,
/// no per-kind caps, and up to 10 000 verified tokens remembered. Set
/// issuer and audience to the gateway's public URL in production.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessTokenSettings {
    /// `iss` written and required. Default `modelgate`.
    pub issuer: String,
    /// `aud` written and required. Default `modelgate`.
    pub audience: String,
    /// Lifetime when none is requested. Default 15 minutes.
    pub default_lifetime: Duration,
    /// Longest lifetime for any token; longer requests are cut to it.
    /// Default one hour. Also the longest `exp - iat` accepted, and how long
    /// a signing key keeps verifying after a rotation.
    pub max_lifetime: Duration,
    /// Tighter caps per identity kind (for example 10 minutes for
    /// `ci_job`). Default none.
    pub max_lifetime_by_kind: BTreeMap<IdentityKind, Duration>,
    /// How many verified tokens to remember (by the SHA-256 of the token,
    /// never the token) so that a token presented again skips the Ed25519
    /// signature check, which is most of the cost of verification. Expiry,
    /// signing key retirement, revocation and the identity's status are
    /// still checked on every use. `0` turns the memo off. Default 10 000
    /// (a few MB at most).
    pub verified_cache_capacity: usize,
}

impl Default for AccessTokenSettings {
    fn default() -> Self {
        AccessTokenSettings {
            issuer: "modelgate".to_owned(),
            audience: "modelgate".to_owned(),
            default_lifetime: Duration::from_secs(15 * 60),
            max_lifetime: Duration::from_secs(60 * 60),
            max_lifetime_by_kind: BTreeMap::new(),
            verified_cache_capacity: 10_000,
        }
    }
}

impl AccessTokenSettings {
    /// Checks the settings: issuer and audience non-empty, every lifetime
    /// at least one second, the default no longer than the maximum.
    pub fn validate(&self) -> Result<(), IdentityError> {
        let invalid = IdentityError::InvalidTokenSettings;
        if self.issuer.trim().is_empty() {
            return Err(invalid("the issuer must not be empty"));
        }
        if self.audience.trim().is_empty() {
            return Err(invalid("the audience must not be empty"));
        }
        let one_second = Duration::from_secs(1);
        if self.default_lifetime < one_second
            || self.max_lifetime < one_second
            || self.max_lifetime_by_kind.values().any(|d| *d < one_second)
        {
            return Err(invalid("token lifetimes must be at least one second"));
        }
        if self.default_lifetime > self.max_lifetime {
            return Err(invalid("the default lifetime exceeds the maximum lifetime"));
        }
        if i64::try_from(self.max_lifetime.as_secs()).is_err() {
            return Err(invalid("the maximum lifetime is out of range"));
        }
        Ok(())
    }

    /// The lifetime a token for `kind` gets: the requested one (or the
    /// default), cut to the maximum and to the kind's cap, in whole
    /// seconds. [`IdentityError::LifetimeTooShort`] for a request under one
    /// second.
    pub fn lifetime_for(
        &self,
        kind: IdentityKind,
        requested: Option<Duration>,
    ) -> Result<Duration, IdentityError> {
        let wanted = requested.unwrap_or(self.default_lifetime);
        if wanted.as_secs() == 0 {
            return Err(IdentityError::LifetimeTooShort);
        }
        let mut lifetime = wanted.min(self.max_lifetime);
        if let Some(cap) = self.max_lifetime_by_kind.get(&kind) {
            lifetime = lifetime.min(*cap);
        }
        Ok(Duration::from_secs(lifetime.as_secs().max(1)))
    }
}

/// An access token value. `Debug` and `Display` print `[redacted]`; use
/// [`AccessTokenSecret::expose`] where the token is handed to its holder.
pub struct AccessTokenSecret(String);

impl AccessTokenSecret {
    /// The token text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessTokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessTokenSecret([redacted])")
    }
}

impl fmt::Display for AccessTokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted access token]")
    }
}

/// A token just minted.
#[derive(Debug)]
pub struct MintedToken {
    /// The token. Redacted in `Debug`.
    pub token: AccessTokenSecret,
    /// Its `jti` (the principal's credential id; what to revoke).
    pub jti: String,
    /// Its `exp`, unix seconds.
    pub expires_at: i64,
    /// `exp - iat` in seconds (the `expires_in` of a token response).
    pub lifetime_secs: u64,
    /// Its family (`fam`): its own `jti` unless it was exchanged from
    /// another gateway token.
    pub family: String,
}

/// Whether a bearer value looks like a JWT (`eyJ…` with exactly two dots),
/// so the gateway can route it to [`AccessTokens::verify`] rather than to
/// API key authentication. A shape test only; it proves nothing.
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

struct TokensInner {
    store: Store,
    keyring: SigningKeyring,
    settings: AccessTokenSettings,
    cache: RevocationCache,
    verified: verified::VerifiedTokens,
    freshness: sync_clock::SyncClock,
}

/// Mints, verifies and revokes gateway access tokens.
///
/// Cheap to clone: clones share the keyring and the revocation cache.
#[derive(Clone)]
pub struct AccessTokens {
    inner: Arc<TokensInner>,
}

impl fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokens")
            .field("settings", &self.inner.settings)
            .field("keyring", &self.inner.keyring)
            .field("revocations", &self.inner.cache)
            .field("verified_tokens", &self.inner.verified.len())
            .finish_non_exhaustive()
    }
}

impl AccessTokens {
    /// Access tokens over `store`, signing with `keyring`. Validates the
    /// settings and loads the revocation state (as of `now`) before
    /// returning, so verification never starts from an empty cache.
    ///
    /// Minting needs an active signing key: call
    /// [`SigningKeyring::ensure_active`] once at startup.
    pub async fn new(
        store: Store,
        keyring: SigningKeyring,
        settings: AccessTokenSettings,
        now: i64,
    ) -> Result<AccessTokens, IdentityError> {
        settings.validate()?;
        let tokens = AccessTokens {
            inner: Arc::new(TokensInner {
                store,
                keyring,
                verified: verified::VerifiedTokens::new(settings.verified_cache_capacity),
                settings,
                cache: RevocationCache::new(),
                freshness: sync_clock::SyncClock::new(),
            }),
        };
        tokens.refresh(now).await?;
        Ok(tokens)
    }

    /// The settings in force.
    pub fn settings(&self) -> &AccessTokenSettings {
        &self.inner.settings
    }

    /// The signing keyring.
    pub fn keyring(&self) -> &SigningKeyring {
        &self.inner.keyring
    }

    /// The revocation state verification reads.
    pub fn revocations(&self) -> &RevocationCache {
        &self.inner.cache
    }

    /// The JWKS document of the signing keys (active and previous).
    pub fn jwks(&self) -> serde_json::Value {
        self.inner.keyring.jwks()
    }

    /// Brings the in-memory state up to date with the store, if the store
    /// revision moved since the last load: revoked tokens, inactive
    /// identities and the signing keys. Returns whether it reloaded. Cheap
    /// when nothing changed (one indexed read); the gateway calls it every
    /// second. Expired revocations are dropped either way.
    pub async fn refresh(&self, now: i64) -> Result<bool, IdentityError> {
        let cache = &self.inner.cache;
        let _updates = cache.lock_updates().await;
        let store = &self.inner.store;
        // Read the revision first: the lists read after it are at least as
        // new, so the next refresh cannot miss a change.
        let revision = store.revision().await?;
        if cache.revision() == Some(revision) {
            cache.prune(now);
            self.inner.freshness.note_synced();
            return Ok(false);
        }
        let revoked = store.active_revoked_tokens(now).await?;
        let inactive = store.inactive_identity_ids().await?;
        cache.replace(revision, revoked, inactive);
        if let Err(err) = self.inner.keyring.reload().await {
            // Keep the fresh revocations, but retry the whole reload next
            // time.
            cache.invalidate();
            return Err(err.into());
        }
        self.inner.freshness.note_synced();
        tracing::debug!(revision, "access token state reloaded");
        Ok(true)
    }

    /// Revokes a token by its `jti`, whether recorded or not: written to
    /// the store (bumping the revision for other replicas) and applied to
    /// this instance's cache at once. Prefer
    /// [`AccessTokens::revoke_recorded`], which checks that the token exists
    /// and belongs to the identity, and revokes its family. `expires_at` is the token's `exp` (the record is pruned after
    /// it); when unknown, `now` plus the maximum lifetime is a safe bound.
    /// Returns `false` if it was already revoked.
    pub async fn revoke_jti(
        &self,
        jti: &str,
        identity_id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, IdentityError> {
        let cache = &self.inner.cache;
        let _updates = cache.lock_updates().await;
        let fresh = self
            .inner
            .store
            .revoke_token(jti, identity_id, expires_at, now)
            .await?;
        cache.note_revoked(jti, expires_at);
        if fresh {
            tracing::info!(jti, identity_id, "access token revoked");
        }
        Ok(fresh)
    }

    /// Deletes revocation records, issued-token records and seen
    /// federated subject-token ids that have expired. Returns how many.
    pub async fn prune_revocations(&self, now: i64) -> Result<u64, IdentityError> {
        self.inner.cache.prune(now);
        let revoked = self.inner.store.prune_revoked_tokens(now).await?;
        let issued = self.inner.store.prune_issued_tokens(now).await?;
        Ok(revoked + issued)
    }

    /// Rotates the signing key: tokens signed with the old key keep
    /// verifying until the longest of them expires (the maximum lifetime).
    /// Returns the new kid.
    pub async fn rotate_signing_key(&self, now: i64) -> Result<String, IdentityError> {
        Ok(self
            .inner
            .keyring
            .rotate(now, self.inner.settings.max_lifetime)
            .await?)
    }

    /// Retires previous signing keys past their `verify_until`. Returns
    /// their kids.
    pub async fn retire_signing_keys(&self, now: i64) -> Result<Vec<String>, IdentityError> {
        Ok(self.inner.keyring.retire_expired(now).await?)
    }

    /// Notes an identity status change made through the identity service,
    /// under the update lock, after `write` succeeded.
    pub(crate) async fn apply_status<T, F>(
        &self,
        identity_id: &str,
        active: bool,
        write: F,
    ) -> Result<T, IdentityError>
    where
        F: Future<Output = Result<T, IdentityError>>,
    {
        let cache = &self.inner.cache;
        let _updates = cache.lock_updates().await;
        let out = write.await?;
        if active {
            cache.note_active(identity_id);
        } else {
            cache.note_inactive(identity_id);
        }
        Ok(out)
    }
}
