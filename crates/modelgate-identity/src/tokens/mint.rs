//! Minting access tokens.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::claims::{ActClaim, Audience, Claims, HeaderOut};
use super::{
    ACCESS_TOKEN_TYPE, AccessTokenSecret, AccessTokens, JTI_LEN, Lineage, MAX_ACTOR_CHARS,
    MAX_DELEGATION_DEPTH, MAX_SCOPE_CHARS, MAX_TOKEN_BYTES, MintedToken,
};
use crate::base62;
use crate::error::IdentityError;
use crate::identity::Identity;
use crate::principal::Actor;
use crate::signing::{KeyringError, SIGNING_ALGORITHM};

/// An RFC 6749 scope: scope tokens of `%x21 / %x23-5B / %x5D-7E`, separated
/// by single spaces, non-empty, at most [`MAX_SCOPE_CHARS`].
pub(crate) fn is_valid_scope(scope: &str) -> bool {
    let token_char = |b: u8| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b);
    !scope.is_empty()
        && scope.len() <= MAX_SCOPE_CHARS
        && scope
            .split(' ')
            .all(|t| !t.is_empty() && t.bytes().all(token_char))
}

/// 1 to [`MAX_ACTOR_CHARS`] characters, no control characters.
pub(crate) fn is_valid_actor(subject: &str) -> bool {
    !subject.is_empty()
        && subject.chars().count() <= MAX_ACTOR_CHARS
        && !subject.chars().any(char::is_control)
}

fn base64_json<T: serde::Serialize>(value: &T) -> Result<String, IdentityError> {
    let json = serde_json::to_vec(value)
        .map_err(|_| IdentityError::Internal("could not encode an access token"))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

impl AccessTokens {
    /// Mints an access token for `identity`.
    ///
    /// Lifetime: `requested_lifetime` (or the default), cut to the maximum
    /// and the identity kind's cap (see
    /// [`super::AccessTokenSettings::lifetime_for`]). `actor_chain` is the
    /// delegation chain, current actor first; it becomes the nested `act`
    /// claim. Refused for an identity that is not active, or that the
    /// revocation state lists as inactive (a stale `Identity` value), for an
    /// invalid scope or actor, and without an active signing key.
    ///
    /// The token starts a family of its own and is not recorded in the
    /// store; the gateway mints through [`AccessTokens::issue`], which does
    /// both.
    pub fn mint(
        &self,
        identity: &Identity,
        scope: Option<&str>,
        actor_chain: &[Actor],
        requested_lifetime: Option<Duration>,
        now: i64,
    ) -> Result<MintedToken, IdentityError> {
        self.mint_in(identity, scope, actor_chain, requested_lifetime, None, now)
    }

    /// [`AccessTokens::mint`], in `lineage` when given: the token carries
    /// its family and its `exp` is cut to its `not_after`.
    pub(super) fn mint_in(
        &self,
        identity: &Identity,
        scope: Option<&str>,
        actor_chain: &[Actor],
        requested_lifetime: Option<Duration>,
        lineage: Option<&Lineage>,
        now: i64,
    ) -> Result<MintedToken, IdentityError> {
        if !identity.is_active() {
            return Err(IdentityError::IdentityNotActive {
                name: identity.name.clone(),
                status: identity.status,
            });
        }
        if self.inner.cache.is_inactive(&identity.id) {
            return Err(IdentityError::StaleIdentity {
                name: identity.name.clone(),
            });
        }
        if scope.is_some_and(|s| !is_valid_scope(s)) {
            return Err(IdentityError::InvalidScope);
        }
        if actor_chain.len() > MAX_DELEGATION_DEPTH {
            return Err(IdentityError::DelegationTooDeep {
                max: MAX_DELEGATION_DEPTH,
            });
        }
        if actor_chain.iter().any(|a| !is_valid_actor(&a.subject)) {
            return Err(IdentityError::InvalidActor);
        }
        let lifetime = self
            .inner
            .settings
            .lifetime_for(identity.kind, requested_lifetime)?;
        let mut expires_at = i64::try_from(lifetime.as_secs())
            .ok()
            .and_then(|secs| now.checked_add(secs))
            .ok_or(IdentityError::ExpiryOutOfRange)?;
        if let Some(lineage) = lineage {
            // Never outlive the token it was exchanged from.
            expires_at = expires_at.min(lineage.not_after);
        }
        let lifetime_secs = expires_at
            .checked_sub(now)
            .and_then(|secs| u64::try_from(secs).ok())
            .filter(|secs| *secs > 0)
            .ok_or(IdentityError::ExpiryOutOfRange)?;
        let signer = self
            .inner
            .keyring
            .signer()
            .ok_or(KeyringError::NoActiveKey)?;
        let jti = base62::random(JTI_LEN)?;
        let family = lineage
            .and_then(|l| l.family.clone())
            .unwrap_or_else(|| jti.clone());

        let act = actor_chain.iter().rev().fold(None, |inner, actor| {
            Some(Box::new(ActClaim {
                sub: actor.subject.clone(),
                act: inner,
            }))
        });
        let claims = Claims {
            iss: self.inner.settings.issuer.clone(),
            sub: identity.id.clone(),
            aud: Audience::One(self.inner.settings.audience.clone()),
            exp: expires_at,
            iat: now,
            nbf: now,
            jti: jti.clone(),
            client_id: identity.name.clone(),
            scope: scope.map(str::to_owned),
            mg_kind: identity.kind,
            mg_env: identity.environment.clone(),
            mg_owner: identity.owner.clone(),
            act,
            fam: Some(family.clone()),
        };
        let header = HeaderOut {
            alg: SIGNING_ALGORITHM,
            typ: ACCESS_TOKEN_TYPE,
            kid: signer.kid(),
        };
        let mut token = base64_json(&header)?;
        token.push('.');
        token.push_str(&base64_json(&claims)?);
        let signature = signer.sign(token.as_bytes());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
        if token.len() > MAX_TOKEN_BYTES {
            return Err(IdentityError::TokenTooLarge);
        }
        tracing::debug!(
            identity = %identity.name,
            jti = %jti,
            kid = signer.kid(),
            expires_at,
            actors = actor_chain.len(),
            "access token minted"
        );
        Ok(MintedToken {
            token: AccessTokenSecret(token),
            jti,
            expires_at,
            lifetime_secs,
            family,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_rules() {
        for good in ["chat", "chat embeddings", "model:gpt-4o read!", "a#[]~"] {
            assert!(is_valid_scope(good), "{good}");
        }
        let long = "a".repeat(MAX_SCOPE_CHARS + 1);
        for bad in [
            "",
            " chat",
            "chat ",
            "chat  embed",
            "say\"hi\"",
            "back\\slash",
            "tab\tsep",
            "é",
            long.as_str(),
        ] {
            assert!(!is_valid_scope(bad), "{bad}");
        }
    }

    #[test]
    fn actor_rules() {
        assert!(is_valid_actor("agent-runner"));
        assert!(is_valid_actor(&"é".repeat(MAX_ACTOR_CHARS)));
        assert!(!is_valid_actor(""));
        assert!(!is_valid_actor("a\nb"));
        assert!(!is_valid_actor(&"a".repeat(MAX_ACTOR_CHARS + 1)));
    }
}
