//! Verifying access tokens: memory only, no store round trip.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;

use std::sync::Arc;

use super::claims::{Claims, HeaderIn};
use super::verified::{Verified, token_digest};
use super::{AccessTokens, Lineage, MAX_DELEGATION_DEPTH, MAX_TOKEN_BYTES, is_token_id};
use crate::error::{AuthError, TokenRejection};
use crate::identity::is_valid_name;
use crate::ids::is_identity_id;
use crate::principal::{Actor, AuthMethod, Principal};
use crate::signing::{CLOCK_LEEWAY_SECS, SIGNING_ALGORITHM, VerifyFailure};

/// Length of an Ed25519 signature.
const SIGNATURE_LEN: usize = 64;

fn invalid(why: TokenRejection) -> AuthError {
    AuthError::InvalidToken(why)
}

/// Decodes one base64url segment (no padding, canonical) as JSON.
fn decode_json<T: DeserializeOwned>(segment: &str, why: TokenRejection) -> Result<T, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| invalid(TokenRejection::Malformed))?;
    serde_json::from_slice(&bytes).map_err(|_| invalid(why))
}

/// `at+jwt` or `application/at+jwt`, in any case (RFC 9068 §4, RFC 7515
/// §4.1.9).
fn is_access_token_type(typ: &str) -> bool {
    typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
}

impl AccessTokens {
    /// Verifies an access token and returns the caller as a [`Principal`].
    ///
    /// Checks, in order: size (at most [`MAX_TOKEN_BYTES`]); three
    /// base64url segments; header `typ` `at+jwt` (or `application/at+jwt`,
    /// any case), `alg` `EdDSA`, no `crit`, a `kid` naming an active key or
    /// a previous one still within its `verify_until`; the signature; the
    /// claims' types (numbers must be JSON integers, required claims
    /// present); `iss` and `aud` equal the settings; `exp - iat` positive
    /// and within the maximum lifetime; the `act` depth; then `exp` not
    /// passed and `nbf`/`iat` not in the future (5 s leeway each); then, from
    /// the in-memory [`RevocationCache`], that neither the `jti` nor the
    /// token's family is revoked and the identity is not inactive. Refused
    /// with [`AuthError::StateStale`] when this replica has not synced with
    /// the store for longer than its bound (see
    /// [`AccessTokens::set_max_staleness`]). Reads memory only, never the
    /// store.
    ///
    /// A token that verified before (see
    /// [`super::AccessTokenSettings::verified_cache_capacity`]) skips the
    /// parsing and signature steps; the key, time and revocation checks run
    /// on every call.
    ///
    /// Errors never contain any part of the token.
    ///
    /// [`RevocationCache`]: crate::RevocationCache
    pub fn verify(&self, token: &str, now: i64) -> Result<Principal, AuthError> {
        Ok(self.verify_current(token, now)?.principal.clone())
    }

    /// Like [`AccessTokens::verify`], and also returns the token's
    /// [`Lineage`]: its family and its `exp`, which bound a token exchanged
    /// from it.
    pub fn verify_lineage(&self, token: &str, now: i64) -> Result<(Principal, Lineage), AuthError> {
        let verified = self.verify_current(token, now)?;
        let lineage = Lineage {
            family: Some(verified.family.clone()),
            not_after: verified.exp,
        };
        Ok((verified.principal.clone(), lineage))
    }

    /// Every check, the memo first.
    fn verify_current(&self, token: &str, now: i64) -> Result<Arc<Verified>, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid(TokenRejection::TooLarge));
        }
        self.check_fresh()?;
        let memo = &self.inner.verified;
        let key = memo.enabled().then(|| token_digest(token));
        if let Some(hit) = key.as_ref().and_then(|k| memo.get(k)) {
            if !self.inner.keyring.is_usable(&hit.kid, now) {
                return Err(invalid(TokenRejection::UnknownKey));
            }
            self.check_current(&hit, now)?;
            return Ok(hit);
        }
        let verified = Arc::new(self.verify_signed(token, now)?);
        self.check_current(&verified, now)?;
        if let Some(key) = key {
            memo.insert(key, Arc::clone(&verified), now);
        }
        Ok(verified)
    }

    /// The checks that depend on time and revocation state.
    fn check_current(&self, v: &Verified, now: i64) -> Result<(), AuthError> {
        if now >= v.exp.saturating_add(CLOCK_LEEWAY_SECS) {
            return Err(AuthError::TokenExpired);
        }
        if v.not_before > now.saturating_add(CLOCK_LEEWAY_SECS) {
            return Err(invalid(TokenRejection::NotYetValid));
        }
        self.inner.cache.check(
            &v.principal.credential_id,
            &v.family,
            &v.principal.identity_id,
        )
    }

    /// Parsing, signature and the claims that cannot change for these
    /// bytes. `now` only decides whether the signing key is still usable.
    fn verify_signed(&self, token: &str, now: i64) -> Result<Verified, AuthError> {
        let mut segments = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(invalid(TokenRejection::Malformed));
        };
        if header_b64.is_empty() || payload_b64.is_empty() || signature_b64.is_empty() {
            return Err(invalid(TokenRejection::Malformed));
        }

        let header: HeaderIn = decode_json(header_b64, TokenRejection::Malformed)?;
        if !header.typ.as_deref().is_some_and(is_access_token_type) {
            return Err(invalid(TokenRejection::WrongType));
        }
        if header.alg != SIGNING_ALGORITHM {
            return Err(invalid(TokenRejection::UnsupportedAlgorithm));
        }
        if header.crit.is_some() {
            return Err(invalid(TokenRejection::UnsupportedHeader));
        }
        let kid = header.kid.ok_or(invalid(TokenRejection::UnknownKey))?;

        let mut signature = [0u8; SIGNATURE_LEN];
        match URL_SAFE_NO_PAD.decode_slice(signature_b64, &mut signature) {
            Ok(SIGNATURE_LEN) => {}
            _ => return Err(invalid(TokenRejection::Malformed)),
        }
        let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
        self.inner
            .keyring
            .verify(&kid, signing_input, &signature, now)
            .map_err(|failure| match failure {
                VerifyFailure::UnknownKey => invalid(TokenRejection::UnknownKey),
                VerifyFailure::BadSignature => invalid(TokenRejection::BadSignature),
            })?;

        let claims: Claims = decode_json(payload_b64, TokenRejection::BadClaims)?;
        let settings = &self.inner.settings;
        if claims.iss != settings.issuer {
            return Err(invalid(TokenRejection::WrongIssuer));
        }
        if !claims.aud.contains(&settings.audience) {
            return Err(invalid(TokenRejection::WrongAudience));
        }
        let max = i64::try_from(settings.max_lifetime.as_secs()).unwrap_or(i64::MAX);
        match claims.exp.checked_sub(claims.iat) {
            Some(lifetime) if lifetime > 0 && lifetime <= max => {}
            _ => return Err(invalid(TokenRejection::BadLifetime)),
        }
        let well_formed = is_identity_id(&claims.sub)
            && is_valid_name(&claims.client_id)
            && is_token_id(&claims.jti)
            && claims.fam.as_deref().is_none_or(is_token_id);
        if !well_formed {
            return Err(invalid(TokenRejection::BadClaims));
        }

        let mut delegation = Vec::new();
        let mut next = claims.act;
        while let Some(act) = next {
            if delegation.len() == MAX_DELEGATION_DEPTH {
                return Err(invalid(TokenRejection::DelegationTooDeep));
            }
            let act = *act;
            delegation.push(Actor { subject: act.sub });
            next = act.act;
        }

        Ok(Verified {
            kid,
            exp: claims.exp,
            family: claims.fam.unwrap_or_else(|| claims.jti.clone()),
            not_before: claims.nbf.max(claims.iat),
            principal: Principal {
                identity_id: claims.sub,
                identity_name: claims.client_id,
                kind: claims.mg_kind,
                owner: claims.mg_owner,
                environment: claims.mg_env,
                credential_id: claims.jti,
                auth_method: AuthMethod::AccessToken,
                delegation,
                scope: claims.scope,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typ_forms() {
        for ok in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/AT+jwt",
        ] {
            assert!(is_access_token_type(ok), "{ok}");
        }
        for bad in ["JWT", "jwt", "at+jwt ", "application/jwt", ""] {
            assert!(!is_access_token_type(bad), "{bad}");
        }
    }
}
