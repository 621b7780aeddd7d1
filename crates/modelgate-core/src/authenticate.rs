//! Authentication of a request's bearer credential, shared by both planes:
//! the credential becomes a [`Principal`], or [`AuthFailure`] says why not
//! (as a fixed label, never the credential). Each plane renders the failure
//! in its own way: the data plane as a 401 in the caller's dialect, the
//! admin API as its own error.

use http::HeaderMap;
use http::header::AUTHORIZATION;
use modelgate_identity::{AccessTokens, AuthError, IdentityService, Principal, looks_like_jwt};
use modelgate_types::Dialect;

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
    /// The credential was refused (or could not be checked).
    Refused(AuthError),
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

/// The credential the caller presented: `Authorization: Bearer` or, for the
/// Anthropic dialect, `x-api-key` (either is accepted on either route).
pub fn presented(headers: &HeaderMap, dialect: Dialect) -> Option<&str> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    match dialect {
        Dialect::Anthropic => api_key.or(bearer),
        Dialect::OpenAi => bearer.or(api_key),
    }
    .filter(|t| !t.is_empty())
}

/// Authenticates the request, or says why not. A bearer shaped like a JWT
/// is verified as a gateway access token in memory; anything else is
/// looked up as an API key. A failure to check (the store) is logged here.
pub async fn authenticate(
    identity: &IdentityService,
    tokens: &AccessTokens,
    headers: &HeaderMap,
    dialect: Dialect,
    now: i64,
) -> Result<Principal, AuthFailure> {
    let Some(token) = presented(headers, dialect) else {
        return Err(AuthFailure::Missing);
    };
    let result = if looks_like_jwt(token) {
        tokens.verify(token, now)
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
        let mut h = HeaderMap::new();
        assert_eq!(presented(&h, Dialect::OpenAi), None);
        h.insert(AUTHORIZATION, HeaderValue::from_static("bearer  abc "));
        assert_eq!(presented(&h, Dialect::OpenAi), Some("abc"));
        h.insert("x-api-key", HeaderValue::from_static("xyz"));
        assert_eq!(presented(&h, Dialect::Anthropic), Some("xyz"));
        assert_eq!(presented(&h, Dialect::OpenAi), Some("abc"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(presented(&h, Dialect::OpenAi), Some("xyz"));
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
