//! Issued access tokens, token families and seen federated subject-token
//! ids on the [`Store`].
//!
//! Every access token the gateway mints is recorded (its `jti`, identity,
//! family and lifetime), so a revocation names only a token that exists,
//! of the identity it names, and revoking one member of a family (the
//! tokens exchanged from one another, named by the first token's `jti`)
//! revokes all of them. Federated subject-token ids are recorded per
//! issuer so a replayed token is refused on every replica.

use crate::{Store, StoreError};

/// An access token as minted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedTokenRecord {
    /// The token's `jti`. Primary key.
    pub jti: String,
    /// The identity it was issued to (its `sub`).
    pub identity_id: String,
    /// Its family: the `jti` of the first token of its exchange chain (its
    /// own `jti` when it starts one).
    pub family: String,
    /// Its `iat`.
    pub issued_at: i64,
    /// Its `exp`: after this the row can be pruned.
    pub expires_at: i64,
}

/// What revoking a token's family wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyRevocation {
    /// The family revoked.
    pub family: String,
    /// Recorded members of the family that had not expired.
    pub members: u64,
    /// Until when the family's revocation is kept: the latest `exp` of its
    /// recorded members.
    pub expires_at: i64,
    /// Whether anything new was written (`false`: already revoked).
    pub fresh: bool,
}

impl Store {
    /// Records a minted access token. [`StoreError::Conflict`] if the jti
    /// is taken, [`StoreError::MissingReference`] if the identity does not
    /// exist.
    pub async fn record_issued_token(&self, r: &IssuedTokenRecord) -> Result<(), StoreError> {
        on_backend!(self, b => b.record_issued_token(r).await)
    }

    /// The recorded token with this jti, if any (expired or not, until it
    /// is pruned).
    pub async fn issued_token(&self, jti: &str) -> Result<Option<IssuedTokenRecord>, StoreError> {
        on_backend!(self, b => b.issued_token(jti).await)
    }

    /// Revokes the recorded token `token` and its whole family, in one
    /// transaction, bumping the revision when anything new is written: the
    /// token's jti is kept until its own `exp`, the family id until the
    /// latest `exp` of the family's recorded members (a member exchanged
    /// later never outlives the token it came from).
    pub async fn revoke_token_family(
        &self,
        token: &IssuedTokenRecord,
        at: i64,
    ) -> Result<FamilyRevocation, StoreError> {
        on_backend!(self, b => b.revoke_token_family(token, at).await)
    }

    /// Notes that the federated subject token `jti` of `issuer`, valid
    /// until `expires_at`, is being exchanged. `false`, with nothing
    /// written, if the same issuer's `jti` was seen before and its record
    /// has not expired (a replay).
    pub async fn note_subject_token(
        &self,
        issuer: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(self, b => b.note_subject_token(issuer, jti, expires_at, now).await)
    }

    /// Deletes issued-token and seen-subject-token records that expired
    /// (`expires_at <= now`). Returns how many.
    pub async fn prune_issued_tokens(&self, now: i64) -> Result<u64, StoreError> {
        on_backend!(self, b => b.prune_issued_tokens(now).await)
    }
}
