//! Token families: a token exchanged from a gateway access token carries
//! that token's family (the `jti` of the first token of the chain) and
//! never outlives it. Every token the gateway issues is recorded in the
//! store, so revocation names only a token that exists, of its identity,
//! and revokes its whole family on every replica.

use modelgate_store::{FamilyRevocation, IssuedTokenRecord};

use super::{AccessTokens, JTI_LEN, MintedToken};
use crate::base62;
use crate::error::IdentityError;
use crate::identity::Identity;
use crate::principal::Actor;

/// What bounds a token exchanged from gateway access tokens: the family it
/// joins and the latest `exp` it may have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lineage {
    /// The family it joins (the subject token's `fam`); `None` starts a new
    /// one (the subject was proven otherwise, and only an actor's token
    /// bounds it).
    pub family: Option<String>,
    /// The latest `exp` it may have: the subject token's `exp`, or an
    /// earlier one when an actor's token expires first.
    pub not_after: i64,
}

impl Lineage {
    /// This lineage (its family), also bounded by `not_after`.
    pub fn bounded_by(self, not_after: i64) -> Lineage {
        Lineage {
            family: self.family,
            not_after: self.not_after.min(not_after),
        }
    }
}

/// Whether `text` has the shape of a `jti` (or family) the gateway mints:
/// exactly [`JTI_LEN`] base62 characters.
pub fn is_token_id(text: &str) -> bool {
    text.len() == JTI_LEN && text.bytes().all(base62::is_base62)
}

impl AccessTokens {
    /// Mints an access token (see [`AccessTokens::mint`]) and records it in
    /// the store (jti, identity, family, `iat`, `exp`). In `lineage` when
    /// it is exchanged from another gateway token: it joins that family
    /// and its `exp` is cut to `lineage.not_after`; otherwise it starts a
    /// family of its own. Nothing is returned unless the record is written.
    pub async fn issue(
        &self,
        identity: &Identity,
        scope: Option<&str>,
        actor_chain: &[Actor],
        lineage: Option<&Lineage>,
        now: i64,
    ) -> Result<MintedToken, IdentityError> {
        let minted = self.mint_in(identity, scope, actor_chain, None, lineage, now)?;
        self.inner
            .store
            .record_issued_token(&IssuedTokenRecord {
                jti: minted.jti.clone(),
                identity_id: identity.id.clone(),
                family: minted.family.clone(),
                issued_at: now,
                expires_at: minted.expires_at,
            })
            .await?;
        Ok(minted)
    }

    /// Revokes the recorded token `jti` of identity `identity_id` and its
    /// whole family: written to the store (bumping the revision for other
    /// replicas) and applied to this instance's cache at once. The token's
    /// revocation is kept until its own `exp`, the family's until the
    /// latest `exp` of its members. `None`, with nothing written, when no
    /// token with this jti was recorded for this identity.
    pub async fn revoke_recorded(
        &self,
        jti: &str,
        identity_id: &str,
        now: i64,
    ) -> Result<Option<FamilyRevocation>, IdentityError> {
        if !is_token_id(jti) {
            return Ok(None);
        }
        let cache = &self.inner.cache;
        let _updates = cache.lock_updates().await;
        let store = &self.inner.store;
        let Some(record) = store
            .issued_token(jti)
            .await?
            .filter(|r| r.identity_id == identity_id)
        else {
            return Ok(None);
        };
        let revoked = store.revoke_token_family(&record, now).await?;
        cache.note_revoked(&record.jti, record.expires_at);
        cache.note_revoked(&revoked.family, revoked.expires_at);
        tracing::info!(
            jti,
            family = %revoked.family,
            identity_id,
            members = revoked.members,
            "access token family revoked"
        );
        Ok(Some(revoked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_id_shape() {
        assert!(is_token_id("AAAAAAAAAAAAAAAAAAAAAA"));
        assert!(is_token_id("0123456789abcdefABCDEF"));
        for bad in [
            "",
            "jti-1",
            "AAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAA-",
            "AAAAAAAAAAAAAAAAAAAA\u{e9}",
        ] {
            assert!(!is_token_id(bad), "{bad:?}");
        }
    }
}
