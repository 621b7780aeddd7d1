//! Authentication of a request's bearer credential, shared by both planes:
//! the credential becomes a [`Principal`], or [`AuthFailure`] says why not
//! (as a fixed label, never the credential). Each plane renders the failure
//! in its own way: the data plane as a 401 in the caller's dialect, the
//! admin API as its own error.
//!
//! On a TLS listener with client certificates, a request of a connection
//! that presented a verified certificate ([`PeerCertificate`]) and no
//! bearer credential is authenticated by the certificate (method `mtls`).
//! A request with both: the bearer credential authenticates it, unless the
//! certificate maps to a different identity, which is refused as
//! ambiguous (a certificate that maps to nothing does not stand in the
//! way of an explicit credential).

use http::HeaderMap;
use http::header::AUTHORIZATION;
use modelgate_identity::federation::Federation;
use modelgate_identity::{AccessTokens, AuthError, IdentityService, Principal, looks_like_jwt};
use modelgate_types::Dialect;

use crate::peer_cert::{
    CertOutcome, CertRefusal, PeerCertificate, authenticate_certificate, mapped_identity,
};

/// The label of a credential that could not be checked.
const STORE: &str = "store";
/// The label of a credential refused because this replica's state is
/// stale (`tokens.max_staleness`).
const STATE_STALE: &str = "state_stale";

/// Why a request is not authenticated.
#[derive(Debug)]
pub enum AuthFailure {
    /// No credential was presented.
    Missing,
    /// More than one credential was presented: two `Authorization` (or
    /// two `x-api-key`) headers, or `Authorization` and `x-api-key` naming
    /// different credentials. Refused rather than resolved by picking one.
    Ambiguous,
    /// The credential was refused (or could not be checked).
    Refused(AuthError),
    /// The client certificate, the request's only credential, does not
    /// authenticate the caller.
    Certificate(CertRefusal),
}

impl AuthFailure {
    /// Whether the credential could not be checked (the store failed, or
    /// this replica's state sync is stale), as opposed to refused.
    pub fn is_unavailable(&self) -> bool {
        matches!(self.reason(), STORE | STATE_STALE)
    }

    /// Why, as a fixed metric label (`missing`, `unknown`, `expired`, ...,
    /// `store` when the credential could not be checked, `state_stale` when
    /// this replica stopped authenticating because it could not sync).
    pub fn reason(&self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Ambiguous => "ambiguous",
            AuthFailure::Certificate(refusal) => refusal.reason(),
            AuthFailure::Refused(error) => match error {
                AuthError::Malformed(_) => "malformed",
                AuthError::Unknown => "unknown",
                AuthError::Expired => "expired",
                AuthError::Revoked => "revoked",
                AuthError::IdentityDisabled => "identity_disabled",
                AuthError::InvalidToken(_) => "invalid_token",
                AuthError::TokenExpired => "token_expired",
                AuthError::TokenRevoked => "token_revoked",
                AuthError::StateStale => STATE_STALE,
                _ => STORE,
            },
        }
    }
}

/// The credential the caller presented: `Authorization: Bearer` or
/// `x-api-key` (either is accepted on either route; the same credential in
/// both is fine). `Err(AuthFailure::Ambiguous)` when either header is
/// repeated or the two name different credentials.
pub fn presented(headers: &HeaderMap, dialect: Dialect) -> Result<Option<&str>, AuthFailure> {
    let single = |name| {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (_, Some(_)) => Err(AuthFailure::Ambiguous),
            (value, None) => Ok(value.and_then(|v| v.to_str().ok())),
        }
    };
    let bearer = single(AUTHORIZATION.as_str())?.and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    let api_key = single("x-api-key")?.map(str::trim);
    let bearer = bearer.filter(|t| !t.is_empty());
    let api_key = api_key.filter(|t| !t.is_empty());
    if let (Some(b), Some(k)) = (bearer, api_key)
        && b != k
    {
        return Err(AuthFailure::Ambiguous);
    }
    Ok(match dialect {
        Dialect::Anthropic => api_key.or(bearer),
        Dialect::OpenAi => bearer.or(api_key),
    })
}

/// The request's credentials. No `Debug`: the headers hold the bearer
/// credential.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// The connection's verified client certificate, if any.
    pub peer_cert: Option<&'a PeerCertificate>,
    /// The dialect, which decides between two header forms.
    pub dialect: Dialect,
}

/// Authenticates the request, or says why not. A bearer shaped like a JWT
/// is verified as a gateway access token in memory; anything else is
/// looked up as an API key; without either, a verified client certificate
/// is mapped through `federation` (see the module documentation). A
/// failure to check (the store) is logged here.
pub async fn authenticate(
    identity: &IdentityService,
    tokens: &AccessTokens,
    federation: &Federation,
    credentials: Credentials<'_>,
    now: i64,
) -> Result<Principal, AuthFailure> {
    let token = presented(credentials.headers, credentials.dialect)?;
    match (token, credentials.peer_cert) {
        (None, None) => Err(AuthFailure::Missing),
        (None, Some(cert)) => match authenticate_certificate(identity, federation, cert).await {
            CertOutcome::Principal(principal) => {
                // As for a key: the identity's `last_used_at` moves.
                identity.note_identity_use(&principal.identity_id, now);
                Ok(principal)
            }
            CertOutcome::Refused(refusal) => Err(AuthFailure::Certificate(refusal)),
            CertOutcome::Inactive => Err(AuthFailure::Refused(AuthError::IdentityDisabled)),
        },
        (Some(token), cert) => {
            let principal = authenticate_bearer(identity, tokens, token, now).await?;
            if let Some(cert) = cert
                && let Ok(name) = mapped_identity(federation, cert)
                && name != principal.identity_name
            {
                return Err(AuthFailure::Ambiguous);
            }
            Ok(principal)
        }
    }
}

/// Authenticates a bearer credential (an access token or an API key).
async fn authenticate_bearer(
    identity: &IdentityService,
    tokens: &AccessTokens,
    token: &str,
    now: i64,
) -> Result<Principal, AuthFailure> {
    let result = if looks_like_jwt(token) {
        // Verified in memory; its use is noted like a key's, so the
        // identity's `last_used_at` moves (flushed with the key uses).
        tokens
            .verify(token, now)
            .inspect(|principal| identity.note_identity_use(&principal.identity_id, now))
    } else {
        identity.authenticate_api_key(token, now).await
    };
    result.map_err(|e| {
        let failure = AuthFailure::Refused(e);
        if let AuthFailure::Refused(e) = &failure {
            match failure.reason() {
                STORE => tracing::error!(error = %e, "credential lookup failed"),
                STATE_STALE => tracing::warn!(
                    since_last_sync_ms = tokens.since_last_sync().as_millis() as u64,
                    "credential refused: state sync is stale (tokens.max_staleness)"
                ),
                _ => {}
            }
        }
        failure
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn presented_credential_by_dialect() {
        fn presented(h: &HeaderMap, d: Dialect) -> Option<&str> {
            super::presented(h, d).ok().flatten()
        }
        let mut h = HeaderMap::new();
        assert_eq!(presented(&h, Dialect::OpenAi), None);
        h.insert(AUTHORIZATION, HeaderValue::from_static("bearer  abc "));
        assert_eq!(presented(&h, Dialect::OpenAi), Some("abc"));
        h.insert("x-api-key", HeaderValue::from_static("abc"));
        assert_eq!(presented(&h, Dialect::Anthropic), Some("abc"));
        assert_eq!(presented(&h, Dialect::OpenAi), Some("abc"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        h.insert("x-api-key", HeaderValue::from_static("xyz"));
        assert_eq!(presented(&h, Dialect::OpenAi), Some("xyz"));
    }

    #[test]
    fn two_credentials_are_ambiguous() {
        let ambiguous =
            |h: &HeaderMap| matches!(presented(h, Dialect::OpenAi), Err(AuthFailure::Ambiguous));
        let mut h = HeaderMap::new();
        h.append(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        h.append(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert!(ambiguous(&h), "two Authorization headers");
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        h.insert("x-api-key", HeaderValue::from_static("xyz"));
        assert!(ambiguous(&h), "different credentials in the two headers");
        let mut h = HeaderMap::new();
        h.append("x-api-key", HeaderValue::from_static("abc"));
        h.append("x-api-key", HeaderValue::from_static("xyz"));
        assert!(ambiguous(&h), "two x-api-key headers");
        assert_eq!(AuthFailure::Ambiguous.reason(), "ambiguous");
    }

    #[test]
    fn reasons_are_fixed_labels() {
        assert_eq!(AuthFailure::Missing.reason(), "missing");
        assert_eq!(AuthFailure::Refused(AuthError::Expired).reason(), "expired");
        assert_eq!(
            AuthFailure::Refused(AuthError::TokenRevoked).reason(),
            "token_revoked"
        );
        let stale = AuthFailure::Refused(AuthError::StateStale);
        assert_eq!(stale.reason(), "state_stale");
        assert!(stale.is_unavailable());
        assert!(!AuthFailure::Refused(AuthError::Unknown).is_unavailable());
    }
}
